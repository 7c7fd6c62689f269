"""append-only triggers on audit trails

Revision ID: 0003
Revises: 0002
Baseline: hand-rolled migration 3.
"""

from alembic import op

from ccr_pipelines.stores.migrations.ddl import (
    append_only_trigger,
    create_append_only_function,
    refuse_baseline_downgrade,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    create_append_only_function(conn)
    for table in ("access_log", "audit_log", "alert_deliveries", "purge_log", "ingest_events"):
        append_only_trigger(conn, table)


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
