"""data-subject call index

Revision ID: 0006
Revises: 0005
Baseline: hand-rolled migration 6.
"""

import sqlalchemy as sa
from alembic import op

from ccr_pipelines.stores.migrations.ddl import refuse_baseline_downgrade

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("identifier_type", sa.String(length=20), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "subject_hash", "call_id", name="uq_subject_call"),
    )
    op.create_index("ix_subject_calls_call", "subject_calls", ["tenant_id", "call_id"], unique=False)


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
