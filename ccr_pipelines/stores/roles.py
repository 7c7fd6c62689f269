"""Roles and grants of the ``ccr`` commands (P3, P20): ``access_grants`` (append-only: the latest row per
principal and role is in force), ``access_role_commands``, and the audit row of each change. Changes
run in one locked transaction (``changes``) so that two bootstraps racing cannot make two first admins."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from .control_store import ControlStore, access_grants, access_log, access_role_commands, audit_log, utcnow


def _current(conn: sa.Connection, principal: str | None = None) -> dict[tuple[str, str], bool]:
    q = sa.select(access_grants.c.principal, access_grants.c.role, access_grants.c.granted).order_by(access_grants.c.id)
    if principal is not None:
        q = q.where(access_grants.c.principal == principal)
    state: dict[tuple[str, str], bool] = {}
    for p, r, g in conn.execute(q):
        state[(p, r)] = bool(g)
    return state


def grant_state(control: ControlStore, principal: str | None = None) -> dict[tuple[str, str], bool]:
    """(principal, role) -> in force, from the history (one principal's, or everyone's)."""
    with control.engine.connect() as conn:
        return _current(conn, principal)


def role_command_rows(control: ControlStore) -> list[dict]:
    """Every (role, command) row of the role table."""
    return control.fetch(sa.select(access_role_commands))


def log_refusal(control: ControlStore, *, principal: str, tenant_id: str, command: str, obj: str) -> None:
    """P3: the one access-log row of a command refused for lack of a role (no input in it)."""
    control.insert(
        access_log,
        dict(
            at=utcnow(),
            actor=principal,
            tenant_id=tenant_id,
            action="refused",
            purpose=f"ccr {command}"[:200],
            object=obj,
        ),
    )


class Changes:
    """One locked transaction over the grants and the role table; every write is audited in it."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn

    def grant_state(self) -> dict[tuple[str, str], bool]:
        return _current(self.conn)

    def role_commands(self) -> set[tuple[str, str]]:
        return {(r["role"], r["command"]) for r in self.conn.execute(sa.select(access_role_commands)).mappings()}

    def add_role_commands(self, pairs: Iterable[tuple[str, str]]) -> None:
        rows = [{"role": r, "command": c} for r, c in pairs]
        if rows:
            self.conn.execute(access_role_commands.insert(), rows)

    def write_grant(self, *, principal: str, role: str, granted: bool, actor: str, reason: str) -> None:
        now = utcnow()
        self.conn.execute(
            access_grants.insert().values(
                principal=principal, role=role, granted=granted, actor=actor, reason=reason, at=now
            )
        )
        self.conn.execute(
            audit_log.insert().values(
                at=now,
                actor=actor,
                entity="access_grant",
                entity_id=principal,
                change={"role": role, "granted": granted, "reason": reason},
            )
        )

    def set_role_command(self, role: str, command: str, *, allow: bool, actor: str, reason: str) -> bool:
        """Allow or deny; False (nothing written) when it is so already."""
        where = (access_role_commands.c.role == role, access_role_commands.c.command == command)
        exists = self.conn.execute(sa.select(access_role_commands).where(*where)).first()
        if bool(exists) == allow:
            return False
        if allow:
            self.conn.execute(access_role_commands.insert().values(role=role, command=command))
        else:
            self.conn.execute(access_role_commands.delete().where(*where))
        self.conn.execute(
            audit_log.insert().values(
                at=utcnow(),
                actor=actor,
                entity="access_role",
                entity_id=role,
                change={"command": command, "allowed": allow, "reason": reason},
            )
        )
        return True


@contextmanager
def changes(control: ControlStore) -> Iterator[Changes]:
    """Serialise grant changes: an advisory lock on PostgreSQL, the write lock on SQLite."""
    with control.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(742013)"))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield Changes(conn)
