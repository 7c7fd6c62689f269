"""retention grants: the purge may delete expired access-log rows

Revision ID: 0011
Revises: 0008
Baseline: hand-rolled migration 11 (that numbering has no 9 or 10).
"""

import sqlalchemy as sa
from alembic import op

from ccr_pipelines.stores.migrations.ddl import append_only_trigger, purgeable_delete_trigger, refuse_baseline_downgrade

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_grants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("table_name", sa.String(length=60), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_grants", "retention_grants", ["table_name", "tenant_id"], unique=False)
    conn = op.get_bind()
    append_only_trigger(conn, "retention_grants")
    purgeable_delete_trigger(conn, "access_log")


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
