"""quarantined uploads by subject; lineage lookup requests

Revision ID: 0012
Revises: 0011
Baseline: hand-rolled migration 12.
"""

import sqlalchemy as sa
from alembic import op

from ccr_pipelines.stores.migrations.ddl import refuse_baseline_downgrade

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "quarantine_subjects",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("identifier_type", sa.String(length=20), nullable=False),
        sa.Column("entry", sa.String(length=200), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "subject_hash", "entry", name="uq_quarantine_subject"),
    )
    op.create_index("ix_quarantine_subjects_hash", "quarantine_subjects", ["tenant_id", "subject_hash"], unique=False)
    op.create_table(
        "lineage_lookups",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("lookup", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("export_key", sa.String(length=300), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
