"""P3, P20: role-based access to the ``ccr`` commands, kept in the control store.

Grants are an append-only history (``access_grants``: the latest row per principal and role is in
force); each change also writes an ``audit_log`` row, in the same transaction. A refused command
writes one ``access_log`` row (action ``refused``) holding the command name and a digest and length
of the command line, never the input itself, and nothing else.
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa

from ..core.access import COMMANDS, DEFAULT_ROLE_COMMANDS, OPEN_COMMANDS, ROLES, argv_digest, validate_principal
from ..core.errors import CcrError
from ..stores.control_store import ControlStore, access_grants, access_log, access_role_commands, audit_log, utcnow

REFUSED_TENANT = "platform"  # the access-log "tenant" of a refusal that names no (known) tenant


class AccessDenied(CcrError):
    """The caller holds no role that may run the command (message safe to print)."""


def _lock(conn: sa.Connection) -> None:
    """Serialise grant changes (two bootstraps racing must not make two first admins)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(742013)"))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _current(conn: sa.Connection, principal: str | None = None) -> dict[tuple[str, str], bool]:
    q = sa.select(access_grants.c.principal, access_grants.c.role, access_grants.c.granted).order_by(access_grants.c.id)
    if principal is not None:
        q = q.where(access_grants.c.principal == principal)
    state: dict[tuple[str, str], bool] = {}
    for p, r, g in conn.execute(q):
        state[(p, r)] = bool(g)
    return state


def roles_of(control: ControlStore, principal: str) -> set[str]:
    with control.engine.connect() as conn:
        return {r for (_p, r), on in _current(conn, principal).items() if on}


def grants(control: ControlStore) -> dict[str, list[str]]:
    """principal -> roles in force."""
    with control.engine.connect() as conn:
        out: dict[str, list[str]] = {}
        for (p, r), on in sorted(_current(conn).items()):
            if on:
                out.setdefault(p, []).append(r)
        return out


def role_commands(control: ControlStore) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {r: set() for r in ROLES}
    for row in control.fetch(sa.select(access_role_commands)):
        out.setdefault(row["role"], set()).add(row["command"])
    out["admin"] = set(COMMANDS) - OPEN_COMMANDS  # admin can never be locked out of a command
    return out


def _has_admin(conn: sa.Connection) -> bool:
    return any(on and r == "admin" for (_p, r), on in _current(conn).items())


def has_admin(control: ControlStore) -> bool:
    with control.engine.connect() as conn:
        return _has_admin(conn)


def _write(conn, *, principal: str, role: str, granted: bool, actor: str, reason: str) -> None:
    now = utcnow()
    conn.execute(access_grants.insert().values(principal=principal, role=role, granted=granted, actor=actor,
                                               reason=reason, at=now))
    conn.execute(audit_log.insert().values(at=now, actor=actor, entity="access_grant", entity_id=principal,
                                           change={"role": role, "granted": granted, "reason": reason}))


def bootstrap(control: ControlStore, principal: str, *, actor: str, reason: str) -> bool:
    """Make *principal* the first admin and write the role table, only when the store has no admin.

    Returns False (and writes nothing) when an admin exists already."""
    validate_principal(principal)
    with control.engine.begin() as conn:
        _lock(conn)
        if _has_admin(conn):
            return False
        have = {(r["role"], r["command"]) for r in conn.execute(sa.select(access_role_commands)).mappings()}
        rows = [{"role": r, "command": c} for r, cmds in DEFAULT_ROLE_COMMANDS.items() for c in cmds
                if (r, c) not in have]
        if rows:
            conn.execute(access_role_commands.insert(), rows)
        _write(conn, principal=principal, role="admin", granted=True, actor=actor, reason=reason)
    return True


def set_grant(control: ControlStore, principal: str, role: str, *, granted: bool, actor: str, reason: str) -> bool:
    """Grant or revoke *role*; False when nothing changes. Revoking the last admin is refused."""
    validate_principal(principal)
    if role not in ROLES:
        raise CcrError(f"unknown role {ascii(role[:20])} (roles: {', '.join(ROLES)})")
    with control.engine.begin() as conn:
        _lock(conn)
        state = _current(conn)
        if state.get((principal, role), False) == granted:
            return False
        if not granted and role == "admin":
            admins = [p for (p, r), on in state.items() if on and r == "admin"]
            if admins == [principal]:
                raise CcrError("refusing to revoke the last admin (grant admin to someone else first)")
        _write(conn, principal=principal, role=role, granted=granted, actor=actor, reason=reason)
    return True


def set_role_command(control: ControlStore, role: str, command: str, *, allow: bool, actor: str,
                     reason: str) -> bool:
    """Let *role* run *command* (or stop it); audited. False when nothing changes."""
    if role not in ROLES or role == "admin":
        raise CcrError(f"role must be one of {', '.join(r for r in ROLES if r != 'admin')}")
    if command not in COMMANDS or command in OPEN_COMMANDS:
        raise CcrError(f"unknown or open command {ascii(command[:40])}")
    with control.engine.begin() as conn:
        _lock(conn)
        exists = conn.execute(sa.select(access_role_commands).where(access_role_commands.c.role == role,
                                                                    access_role_commands.c.command == command)).first()
        if bool(exists) == allow:
            return False
        if allow:
            conn.execute(access_role_commands.insert().values(role=role, command=command))
        else:
            conn.execute(access_role_commands.delete().where(access_role_commands.c.role == role,
                                                             access_role_commands.c.command == command))
        conn.execute(audit_log.insert().values(at=utcnow(), actor=actor, entity="access_role", entity_id=role,
                                               change={"command": command, "allowed": allow, "reason": reason}))
    return True


def check(control: ControlStore, principal: str, command: str, *, argv: Sequence[str],
          tenant_id: str | None = None) -> set[str]:
    """Return the caller's roles if one of them may run *command*; else log the refusal and raise."""
    if command in OPEN_COMMANDS:
        return set()
    roles = roles_of(control, principal)
    cmds = role_commands(control)
    if "admin" in roles or any(command in cmds.get(r, ()) for r in roles):
        return roles  # admin runs every command, also one added after its role table was written
    control.insert(access_log, dict(at=utcnow(), actor=principal, tenant_id=tenant_id or REFUSED_TENANT,
                                    action="refused", purpose=f"ccr {command}"[:200],
                                    object=f"cli/{command} argv {argv_digest(argv)}"))
    held = ", ".join(sorted(roles)) or "no role"
    raise AccessDenied(f"access refused: '{principal}' ({held}) may not run '{command}' (logged; "
                       f"an admin grants roles with `ccr access grant`)")
