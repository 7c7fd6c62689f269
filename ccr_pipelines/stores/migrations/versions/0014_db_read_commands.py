"""operators and auditors may run db.current and db.history (P3)

Revision ID: 0014
Revises: 0013
The first revision after the baseline. A store whose role table is written (it has a first admin)
gets the two read-only commands for both roles, each change audited (P20) as ``ccr access allow``
does; a store without one gets them from ``core/access.DEFAULT_ROLE_COMMANDS`` at bootstrap.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ROWS = (("operator", "db.current"), ("operator", "db.history"), ("auditor", "db.current"), ("auditor", "db.history"))
_roles = sa.table("access_role_commands", sa.column("role", sa.String), sa.column("command", sa.String))
_audit = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("change", sa.JSON),
)


def _set(allow: bool) -> None:
    conn = op.get_bind()
    have = {(r, c) for r, c in conn.execute(sa.select(_roles.c.role, _roles.c.command))}
    if not have:
        return  # no first admin yet: bootstrap writes the defaults, these included
    now = datetime.now(UTC)
    for role, command in _ROWS:
        if ((role, command) in have) == allow:
            continue
        where = sa.and_(_roles.c.role == role, _roles.c.command == command)
        conn.execute(_roles.insert().values(role=role, command=command) if allow else _roles.delete().where(where))
        conn.execute(
            _audit.insert().values(
                at=now,
                actor=f"ccr db {'migrate' if allow else 'downgrade'} (revision {revision})",
                entity="access_role",
                entity_id=role,
                change={"command": command, "allowed": allow, "reason": f"schema revision {revision}"},
            )
        )


def upgrade() -> None:
    _set(True)


def downgrade() -> None:
    _set(False)
