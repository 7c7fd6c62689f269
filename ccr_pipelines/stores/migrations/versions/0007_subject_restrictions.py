"""data-subject requests: hashes, extension, restrictions

Revision ID: 0007
Revises: 0006
Baseline: hand-rolled migration 7 (its dsr_requests columns are in 0001, as for a new store then).
"""

import sqlalchemy as sa
from alembic import op

from ccr_pipelines.stores.migrations.ddl import refuse_baseline_downgrade

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dsr_requests_status", "dsr_requests", ["status", "due_at"], unique=False)
    op.create_table(
        "subject_restrictions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("identifier_type", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subject_restrictions_tenant", "subject_restrictions", ["tenant_id", "lifted_at"], unique=False)


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
