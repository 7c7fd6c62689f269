"""operators and auditors may run db.current and db.history (P3)

Revision ID: 0014
Revises: 0013
The first revision after the baseline. A store whose role table is written (it has a first admin)
gets the two read-only commands for both roles, each change audited (P20) as ``ccr access allow``
does; a store without one gets them from ``core/access.DEFAULT_ROLE_COMMANDS`` at bootstrap.
"""

from alembic import op

from ccr_pipelines.stores.migrations.ddl import set_role_commands

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ROWS = (("operator", "db.current"), ("operator", "db.history"), ("auditor", "db.current"), ("auditor", "db.history"))


def _set(allow: bool) -> None:
    set_role_commands(op.get_bind(), _ROWS, allow=allow, revision=revision)


def upgrade() -> None:
    _set(True)


def downgrade() -> None:
    _set(False)
