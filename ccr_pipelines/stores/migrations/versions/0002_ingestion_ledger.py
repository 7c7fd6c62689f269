"""ingestion ledger

Revision ID: 0002
Revises: 0001
Baseline: hand-rolled migration 2.
"""

import sqlalchemy as sa
from alembic import op

from ccr_pipelines.stores.migrations.ddl import refuse_baseline_downgrade

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("partition_key", sa.String(length=100), nullable=True),
        sa.Column("source_key", sa.String(length=1100), nullable=False),
        sa.Column("etag", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("quarantine_key", sa.String(length=1100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_key", "etag", name="uq_ingest_object"),
    )
    op.create_index("ix_ingest_partition", "ingest_events", ["tenant_id", "partition_key"], unique=False)
    op.create_index("ix_ingest_tenant_sha", "ingest_events", ["tenant_id", "sha256"], unique=False)


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
