"""P3, P20: role-based access to the ``ccr`` commands, kept in the control store.

Grants are an append-only history (``access_grants``: the latest row per principal and role is in
force); each change also writes an ``audit_log`` row, in the same transaction. A refused command
writes one ``access_log`` row (action ``refused``) holding the command name and a digest and length
of the command line, never the input itself, and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.access import COMMANDS, DEFAULT_ROLE_COMMANDS, OPEN_COMMANDS, ROLES, argv_digest, validate_principal
from ..core.errors import CcrError
from ..stores import roles
from ..stores.control_store import ControlStore

REFUSED_TENANT = "platform"  # the access-log "tenant" of a refusal that names no (known) tenant


class AccessDenied(CcrError):
    """The caller holds no role that may run the command (message safe to print)."""


def roles_of(control: ControlStore, principal: str) -> set[str]:
    return {r for (_p, r), on in roles.grant_state(control, principal).items() if on}


def grants(control: ControlStore) -> dict[str, list[str]]:
    """principal -> roles in force."""
    out: dict[str, list[str]] = {}
    for (p, r), on in sorted(roles.grant_state(control).items()):
        if on:
            out.setdefault(p, []).append(r)
    return out


def role_commands(control: ControlStore) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {r: set() for r in ROLES}
    for row in roles.role_command_rows(control):
        out.setdefault(row["role"], set()).add(row["command"])
    out["admin"] = set(COMMANDS) - OPEN_COMMANDS  # admin can never be locked out of a command
    return out


def _has_admin(state: dict[tuple[str, str], bool]) -> bool:
    return any(on and r == "admin" for (_p, r), on in state.items())


def has_admin(control: ControlStore) -> bool:
    return _has_admin(roles.grant_state(control))


def bootstrap(control: ControlStore, principal: str, *, actor: str, reason: str) -> bool:
    """Make *principal* the first admin and write the role table, only when the store has no admin.

    Returns False (and writes nothing) when an admin exists already."""
    validate_principal(principal)
    with roles.changes(control) as tx:
        if _has_admin(tx.grant_state()):
            return False
        have = tx.role_commands()
        tx.add_role_commands((r, c) for r, cmds in DEFAULT_ROLE_COMMANDS.items() for c in cmds if (r, c) not in have)
        tx.write_grant(principal=principal, role="admin", granted=True, actor=actor, reason=reason)
    return True


def set_grant(control: ControlStore, principal: str, role: str, *, granted: bool, actor: str, reason: str) -> bool:
    """Grant or revoke *role*; False when nothing changes. Revoking the last admin is refused."""
    validate_principal(principal)
    if role not in ROLES:
        raise CcrError(f"unknown role {ascii(role[:20])} (roles: {', '.join(ROLES)})")
    with roles.changes(control) as tx:
        state = tx.grant_state()
        if state.get((principal, role), False) == granted:
            return False
        if not granted and role == "admin":
            admins = [p for (p, r), on in state.items() if on and r == "admin"]
            if admins == [principal]:
                raise CcrError("refusing to revoke the last admin (grant admin to someone else first)")
        tx.write_grant(principal=principal, role=role, granted=granted, actor=actor, reason=reason)
    return True


def set_role_command(control: ControlStore, role: str, command: str, *, allow: bool, actor: str, reason: str) -> bool:
    """Let *role* run *command* (or stop it); audited. False when nothing changes."""
    if role not in ROLES or role == "admin":
        raise CcrError(f"role must be one of {', '.join(r for r in ROLES if r != 'admin')}")
    if command not in COMMANDS or command in OPEN_COMMANDS:
        raise CcrError(f"unknown or open command {ascii(command[:40])}")
    with roles.changes(control) as tx:
        return tx.set_role_command(role, command, allow=allow, actor=actor, reason=reason)


def check(
    control: ControlStore, principal: str, command: str, *, argv: Sequence[str], tenant_id: str | None = None
) -> set[str]:
    """Return the caller's roles if one of them may run *command*; else log the refusal and raise."""
    if command in OPEN_COMMANDS:
        return set()
    held_roles = roles_of(control, principal)
    cmds = role_commands(control)
    if "admin" in held_roles or any(command in cmds.get(r, ()) for r in held_roles):
        return held_roles  # admin runs every command, also one added after its role table was written
    roles.log_refusal(
        control,
        principal=principal,
        tenant_id=tenant_id or REFUSED_TENANT,
        command=command,
        obj=f"cli/{command} argv {argv_digest(argv)}",
    )
    held = ", ".join(sorted(held_roles)) or "no role"
    raise AccessDenied(
        f"access refused: '{principal}' ({held}) may not run '{command}' (logged; "
        f"an admin grants roles with `ccr access grant`)"
    )
