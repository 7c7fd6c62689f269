"""lineage periods and lookup indexes

Revision ID: 0008
Revises: 0007
Baseline: hand-rolled migration 8 (its lineage period columns are in 0001, as for a new store then).
"""

from alembic import op

from ccr_pipelines.stores.migrations.ddl import refuse_baseline_downgrade

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_lineage_tenant_kind_partition", "lineage", ["tenant_id", "artefact_kind", "partition_key"], unique=False
    )
    op.create_index("ix_lineage_run", "lineage", ["run_id"], unique=False)  # OpenLineage export: one run's rows
    # P3: who read a call's artefacts, looked up by object within the tenant
    op.create_index("ix_access_tenant_object", "access_log", ["tenant_id", "object"], unique=False)


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
