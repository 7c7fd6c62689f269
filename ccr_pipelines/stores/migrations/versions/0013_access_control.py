"""access control: roles, their commands and the grant history (P3)

Revision ID: 0013
Revises: 0012
Baseline: hand-rolled migration 13, the last one; a store at it is stamped here. The tables start
empty (a backup can still be restored into a migrated store): ``services/access.bootstrap`` fills them.
"""

import sqlalchemy as sa
from alembic import op

from ccr_pipelines.stores.migrations.ddl import append_only_trigger, refuse_baseline_downgrade

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_role_commands",
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("command", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("role", "command"),
    )
    op.create_table(
        "access_grants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("principal", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_grants_principal", "access_grants", ["principal", "id"], unique=False)
    append_only_trigger(op.get_bind(), "access_grants")


def downgrade() -> None:
    refuse_baseline_downgrade(revision)
