"""The hand-rolled migrations of the releases before Alembic, kept as they were (moved out of
``stores/control_store.py``) to create stores the way those releases did: the tests of the
adoption by Alembic (``ControlStore.migrate`` stamps such a store at the baseline) start from one.
Not part of the package: nothing at run time creates a store this way any more."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ccr_pipelines.stores.control_store import (
    access_grants,
    access_log,
    access_role_commands,
    alert_deliveries,
    audit_log,
    dsr_requests,
    incident_notifications,
    incident_timeline,
    incidents,
    ingest_events,
    lineage,
    lineage_lookups,
    purge_log,
    quarantine_subjects,
    retention_grants,
    review_queue,
    subject_calls,
    subject_restrictions,
    suppression_list,
    tenant_suspensions,
    utcnow,
)

metadata = sa.MetaData()
schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


def _create(conn: Connection, tables) -> None:
    """The old ``metadata.create_all(conn, tables=…)`` (the live tables, with their indexes)."""
    for t in tables:
        t.create(conn, checkfirst=True)


APPEND_ONLY = ("access_log", "audit_log", "alert_deliveries", "purge_log", "ingest_events")


# ---------------------------------------------------------------------------
# Versioned migrations. Append new steps; never edit an applied one.
@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    upgrade: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    v1 = [
        schema_migrations,
        lineage,
        access_log,
        incidents,
        alert_deliveries,
        dsr_requests,
        purge_log,
        suppression_list,
        review_queue,
        audit_log,
    ]
    _create(conn, v1)


def _v2(conn: Connection) -> None:
    _create(conn, [ingest_events])


def _v3(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(
            sa.text(
                """
            CREATE OR REPLACE FUNCTION ccr_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
            END $$ LANGUAGE plpgsql
            """
            )
        )
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION ccr_append_only()"
                )
            )
        else:
            for op in ("UPDATE", "DELETE"):
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END"
                    )
                )


def _v4(conn: Connection) -> None:
    _create(conn, [incident_timeline, incident_notifications])
    # dedup: one open incident per tenant + signal; looked up on every signal
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_incidents_signal_status ON incidents (signal, status)"))
    _append_only_trigger(conn, "incident_timeline")  # P13: the timeline is evidence


def _append_only_trigger(conn: Connection, table: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION ccr_append_only()"
            )
        )
    else:
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END"
                )
            )


def _v5(conn: Connection) -> None:
    _create(conn, [tenant_suspensions])
    _append_only_trigger(conn, "tenant_suspensions")


def _v6(conn: Connection) -> None:
    _create(conn, [subject_calls])


def _v7(conn: Connection) -> None:
    # P16: the DSR log keeps every identifier's keyed hash, the art. 12(3) extension and the
    # receipt; restrictions are their own table (lifted, not deleted: the history is the evidence).
    # A fresh database got these columns from v1's create_all (same Table object): add only what is missing.
    have = {c["name"] for c in sa.inspect(conn).get_columns("dsr_requests")}
    for name, ddl in (
        ("subject_hashes", "JSON"),
        ("identifier_types", "JSON"),
        ("extended_at", "TIMESTAMP"),
        ("extension_reason", "VARCHAR(300)"),
        ("actor", "VARCHAR(200)"),
        ("run_id", "VARCHAR(64)"),
    ):
        if conn.dialect.name == "postgresql" and ddl == "TIMESTAMP":
            ddl = "TIMESTAMP WITH TIME ZONE"
        if name in have:
            continue
        conn.execute(sa.text(f"ALTER TABLE dsr_requests ADD COLUMN {name} {ddl}"))
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_dsr_requests_status ON dsr_requests (status, due_at)"))
    _create(conn, [subject_restrictions])


def _v8(conn: Connection) -> None:
    """P2, P9, P13: record-level lineage lookups. Partition-level rows (marts, reports) say which
    days they cover; the report and call lookups go by index, not by a scan of the tenant's rows."""
    # A database created after this change already has the columns (the table definition is
    # shared with migration 1's create_all); one created before gets them here.
    have = {c["name"] for c in sa.inspect(conn).get_columns("lineage")}
    for col in ("period_start", "period_end"):  # period_end is exclusive
        if col not in have:
            conn.execute(sa.text(f"ALTER TABLE lineage ADD COLUMN {col} VARCHAR(10)"))
    conn.execute(
        sa.text(
            "CREATE INDEX IF NOT EXISTS ix_lineage_tenant_kind_partition "
            "ON lineage (tenant_id, artefact_kind, partition_key)"
        )
    )
    # OpenLineage export reads one run's rows
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_lineage_run ON lineage (run_id)"))
    # P3: who read a call's artefacts, looked up by object within the tenant
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_access_tenant_object ON access_log (tenant_id, object)"))


# Audit trails whose expired rows the purge may delete (through a retention grant).
PURGEABLE_AUDIT = ("access_log",)


def _v11(conn: Connection) -> None:
    _create(conn, [retention_grants])
    _append_only_trigger(conn, "retention_grants")
    for table in PURGEABLE_AUDIT:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    f"""
                CREATE OR REPLACE FUNCTION ccr_append_only_{table}() RETURNS trigger AS $$
                BEGIN
                  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM retention_grants g WHERE g.table_name = TG_TABLE_NAME
                       AND g.tenant_id = OLD.tenant_id AND OLD.at < g.before) THEN
                    RETURN OLD;
                  END IF;
                  RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
                END $$ LANGUAGE plpgsql
                """
                )
            )
            conn.execute(sa.text(f"DROP TRIGGER {table}_append_only ON {table}"))
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION ccr_append_only_{table}()"
                )
            )
        else:
            conn.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                    f"WHEN NOT EXISTS (SELECT 1 FROM retention_grants g WHERE g.table_name = '{table}' "
                    f"AND g.tenant_id = old.tenant_id AND old.at < g.before) "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: DELETE refused'); END"
                )
            )


def _v12(conn: Connection) -> None:
    _create(conn, [quarantine_subjects, lineage_lookups])


def _v13(conn: Connection) -> None:
    """P3: roles, the commands each may run, and the append-only grant history. The tables start
    empty (a migrated store stays empty, so a backup can still be restored into it): the role table
    is written with the first admin (``services/access.bootstrap``)."""
    _create(conn, [access_role_commands, access_grants])
    _append_only_trigger(conn, "access_grants")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "compliance tables", _v1),
    Migration(2, "ingestion ledger", _v2),
    Migration(3, "append-only triggers on audit trails", _v3),
    Migration(4, "incident timeline and breach notification drafts", _v4),
    Migration(5, "tenant suspension switch", _v5),
    Migration(6, "data-subject call index", _v6),
    Migration(7, "data-subject requests: hashes, extension, restrictions", _v7),
    Migration(8, "lineage periods and lookup indexes", _v8),
    Migration(11, "retention grants: the purge may delete expired access-log rows", _v11),
    Migration(12, "quarantined uploads by subject; lineage lookup requests", _v12),
    Migration(13, "access control: roles, their commands and the grant history (P3)", _v13),
)
HEAD = MIGRATIONS[-1].version


def legacy_migrate(engine: Engine, target: int = HEAD) -> int:
    """What ``ControlStore.migrate`` did before Alembic: each pending step in its own transaction."""
    for m in MIGRATIONS:
        if m.version > target:
            break
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            m.upgrade(conn)
            conn.execute(
                schema_migrations.insert().values(version=m.version, description=m.description, applied_at=utcnow())
            )
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar() or 0)
