"""tenant suspension switch

Revision ID: 0005
Revises: 0004
Baseline: hand-rolled migration 5.
"""

import sqlalchemy as sa
from alembic import op

from ccr_pipelines.stores.migrations.ddl import append_only_trigger, refuse_baseline_downgrade

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_suspensions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tenant_suspensions_tenant", "tenant_suspensions", ["tenant_id", "id"], unique=False)
    append_only_trigger(op.get_bind(), "tenant_suspensions")


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
