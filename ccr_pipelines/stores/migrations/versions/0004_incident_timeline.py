"""incident timeline and breach notification drafts

Revision ID: 0004
Revises: 0003
Baseline: hand-rolled migration 4.
"""

import sqlalchemy as sa
from alembic import op

from ccr_pipelines.stores.migrations.ddl import append_only_trigger, refuse_baseline_downgrade

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "incident_timeline",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incident_timeline_incident", "incident_timeline", ["incident_id"], unique=False)
    op.create_table(
        "incident_notifications",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "tenant_id", name="uq_notification_incident_tenant"),
    )
    # dedup: one open incident per tenant + signal; looked up on every signal
    op.create_index("ix_incidents_signal_status", "incidents", ["signal", "status"], unique=False)
    append_only_trigger(op.get_bind(), "incident_timeline")  # P13: the timeline is evidence


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
