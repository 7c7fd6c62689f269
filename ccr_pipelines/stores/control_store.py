"""Control store: the compliance tables (SQLAlchemy Core; SQLite or PostgreSQL).

Holds lineage, the access log (P3), incidents (P10-P13), alert deliveries
(P22), data-subject requests (P16), the purge log (P19), the suppression list
(P18), the review queue (P15), the audit trail of changes (P20) and the
ingestion ledger (every received file's fate). The schema is created and
migrated by versioned steps in this module; audit-trail tables are append-only,
enforced by database triggers on both engines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ts(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)


schema_migrations = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
    _ts("applied_at", nullable=False),
)

lineage = sa.Table(
    "lineage", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("call_id", sa.String(64)),
    sa.Column("artefact_kind", sa.String(40), nullable=False),
    sa.Column("artefact_uri", sa.String(1100), nullable=False),
    sa.Column("source_uri", sa.String(1100)),
    sa.Column("asset_key", sa.String(200)),
    sa.Column("partition_key", sa.String(100)),
    sa.Column("run_id", sa.String(64)),
    sa.Column("code_version", sa.String(64)),
    sa.Column("model_version", sa.String(200)),
    sa.Column("scorer_version", sa.String(64)),
    sa.Column("scorecard_version", sa.String(64)),
    sa.Column("engine", sa.String(200)),  # P9: which engine/service processed it
    sa.Column("region", sa.String(40)),  # P2: where it ran / is stored
    sa.Column("sha256", sa.String(64)),
    _ts("created_at", nullable=False),
    _ts("deleted_at"),
    # migration 8: the days a partition-level row (mart, report) covers, end exclusive
    sa.Column("period_start", sa.String(10)),
    sa.Column("period_end", sa.String(10)),
    sa.Index("ix_lineage_tenant_call", "tenant_id", "call_id"),
    sa.Index("ix_lineage_uri", "artefact_uri"),
)

access_log = sa.Table(
    "access_log", metadata,
    _id(),
    _ts("at", nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # read|write|export|delete|link
    sa.Column("purpose", sa.String(200), nullable=False),
    sa.Column("object", sa.String(1100), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Index("ix_access_tenant_at", "tenant_id", "at"),
)

incidents = sa.Table(
    "incidents", metadata,
    _id(),
    sa.Column("severity", sa.String(10), nullable=False),  # critique|majeur|mineur
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("signal", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="open"),
    sa.Column("tenants", sa.JSON, nullable=False),
    sa.Column("counts", sa.JSON),
    sa.Column("run_ids", sa.JSON),
    sa.Column("is_breach", sa.Boolean, nullable=False, server_default=sa.false()),
    _ts("detected_at", nullable=False),
    _ts("acknowledged_at"),
    _ts("resolved_at"),
    _ts("notify_authority_by"),  # P10: detection + 72 h for personal-data breaches
    sa.Column("root_cause", sa.Text),
    sa.Column("corrective_action", sa.Text),
)

alert_deliveries = sa.Table(
    "alert_deliveries", metadata,
    _id(),
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id")),
    sa.Column("channel", sa.String(20), nullable=False),  # pager|sentry|ticket
    sa.Column("dedup_key", sa.String(200)),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # sent|failed|retried
    sa.Column("http_status", sa.Integer),
    _ts("at", nullable=False),
)

dsr_requests = sa.Table(
    "dsr_requests", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # export|erasure|restriction|suppression
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    _ts("requested_at", nullable=False),
    _ts("due_at", nullable=False),
    _ts("completed_at"),
    sa.Column("proof", sa.JSON),
    # added by migration 7 (P16)
    sa.Column("subject_hashes", sa.JSON),  # every identifier's keyed hash; never the identifiers
    sa.Column("identifier_types", sa.JSON),
    _ts("extended_at"),
    sa.Column("extension_reason", sa.String(300)),
    sa.Column("actor", sa.String(200)),
    sa.Column("run_id", sa.String(64)),
)

purge_log = sa.Table(
    "purge_log", metadata,
    _id(),
    sa.Column("run_id", sa.String(64)),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("data_class", sa.String(40), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("objects", sa.Integer, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    _ts("at", nullable=False),
)

suppression_list = sa.Table(
    "suppression_list", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    # keyed hash (HMAC-SHA256) of the normalised identifier: never the value (P18)
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("identifier_type", sa.String(20), nullable=False),  # phone|email|customer_ref
    sa.Column("reason", sa.String(100), nullable=False),
    sa.Column("added_by", sa.String(200), nullable=False),
    _ts("added_at", nullable=False),
    sa.UniqueConstraint("tenant_id", "subject_hash", name="uq_suppression_subject"),
)

review_queue = sa.Table(
    "review_queue", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("call_id", sa.String(64), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("status", sa.String(20), nullable=False, server_default="unreviewed"),
    _ts("created_at", nullable=False),
    _ts("decided_at"),
    sa.Column("reviewer", sa.String(200)),
    sa.UniqueConstraint("tenant_id", "call_id", name="uq_review_call"),
)

audit_log = sa.Table(
    "audit_log", metadata,
    _id(),
    _ts("at", nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),  # tenant_config|suppression_list|review_decision
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("change", sa.JSON, nullable=False),
)

# P13: an incident's timeline, one row per step (detected, paged, escalated, acknowledged, resolved…).
incident_timeline = sa.Table(
    "incident_timeline", metadata,
    _id(),
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
    _ts("at", nullable=False),
    sa.Column("event", sa.String(30), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    # ids and counts only; a "notes" row holds one tenant's root cause / corrective action (P14)
    sa.Column("detail", sa.JSON),
    sa.Index("ix_incident_timeline_incident", "incident_id"),
)

# P10, P14: one breach notification draft per affected tenant, naming only that tenant.
incident_notifications = sa.Table(
    "incident_notifications", metadata,
    _id(),
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("language", sa.String(5), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    _ts("created_at", nullable=False),
    _ts("sent_at"),
    sa.UniqueConstraint("incident_id", "tenant_id", name="uq_notification_incident_tenant"),
)

# P12: the containment switch. Append-only: the latest row per tenant is in force, the rows are the history.
tenant_suspensions = sa.Table(
    "tenant_suspensions", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("suspended", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("incident_id", sa.BigInteger),
    _ts("at", nullable=False),
    sa.Index("ix_tenant_suspensions_tenant", "tenant_id", "id"),
)

# P16, P17: which calls name a data subject, by keyed hash (never the identifier). Written by
# ingestion in the same transaction as the ledger, so a DSR finds a subject's calls by index,
# in time proportional to the subject's data rather than the tenant's.
subject_calls = sa.Table(
    "subject_calls", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("identifier_type", sa.String(20), nullable=False),  # phone|email|customer_ref
    sa.Column("call_id", sa.String(64), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),  # the call's partition (YYYY-MM-DD)
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("tenant_id", "subject_hash", "call_id", name="uq_subject_call"),
    sa.Index("ix_subject_calls_call", "tenant_id", "call_id"),
)

# P16: a data subject's restriction of processing. The subject's calls are kept but left out of
# reports (and any analytics reading through ``restricted_call_ids``) until ``lifted_at`` is set.
subject_restrictions = sa.Table(
    "subject_restrictions", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("identifier_type", sa.String(20), nullable=False),
    sa.Column("request_id", sa.BigInteger),
    sa.Column("actor", sa.String(200), nullable=False),
    _ts("restricted_at", nullable=False),
    _ts("lifted_at"),
    sa.Index("ix_subject_restrictions_tenant", "tenant_id", "lifted_at"),
)

# P19: the one way rows leave an append-only audit trail. The retention purge writes a grant
# (table, tenant, "before") and the table's delete trigger lets through only rows of that tenant
# older than it; every other UPDATE or DELETE is still refused. The grants are evidence too.
retention_grants = sa.Table(
    "retention_grants", metadata,
    _id(),
    sa.Column("table_name", sa.String(60), nullable=False),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    _ts("before", nullable=False),
    sa.Column("run_id", sa.String(64)),
    _ts("granted_at", nullable=False),
    sa.Index("ix_retention_grants", "table_name", "tenant_id"),
)

# P16, P17 (migration 12): quarantined uploads whose sidecar or key names a data subject, by keyed
# hash, so that an erasure finds them by index like accepted calls. ``entry`` is the quarantine
# folder (``quarantine/{tenant}/{y}/{m}/{d}/{token}/``): a token, never the original key.
quarantine_subjects = sa.Table(
    "quarantine_subjects", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("identifier_type", sa.String(20), nullable=False),
    sa.Column("entry", sa.String(200), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("tenant_id", "subject_hash", "entry", name="uq_quarantine_subject"),
    sa.Index("ix_quarantine_subjects_hash", "tenant_id", "subject_hash"),
)

# P13, P16 (migration 12): a lineage lookup asked of the Dagster job. The caller writes the row; the
# job's run config carries only its id, so no call id or subject hash reaches Dagster's run storage.
# An erasure clears ``target`` when it names one of the subject's calls or hashes.
lineage_lookups = sa.Table(
    "lineage_lookups", metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("lookup", sa.String(20), nullable=False),  # call|subject_hash|report
    sa.Column("target", sa.String(200)),
    sa.Column("actor", sa.String(200), nullable=False),
    _ts("requested_at", nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # requested|answered|failed|erased
    _ts("answered_at"),
    sa.Column("export_key", sa.String(300)),
    sa.Column("run_id", sa.String(64)),
)

ingest_events = sa.Table(
    "ingest_events", metadata,
    _id(),
    _ts("at", nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("tenant_id", sa.String(40)),  # NULL when the key names no valid tenant
    sa.Column("partition_key", sa.String(100)),
    sa.Column("source_key", sa.String(1100), nullable=False),
    sa.Column("etag", sa.String(100)),
    # accepted|quarantined|duplicate|suppressed
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(60)),
    sa.Column("detail", sa.String(300)),  # safe text: never personal data
    sa.Column("call_id", sa.String(64)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("quarantine_key", sa.String(1100)),
    sa.Index("ix_ingest_partition", "tenant_id", "partition_key"),
    sa.Index("ix_ingest_tenant_sha", "tenant_id", "sha256"),
    # One outcome per received object version: two runs racing on the same
    # object cannot both commit (the loser fails and its retry finishes).
    sa.UniqueConstraint("source_key", "etag", name="uq_ingest_object"),
)

# P3: role-based access to the ``ccr`` commands (migration 13). The roles and the commands each may
# run: written from ``core/access.DEFAULT_ROLE_COMMANDS`` with the first admin, changed only by
# ``ccr access allow|deny`` (audited). ``admin`` may run every command whatever this table says.
access_role_commands = sa.Table(
    "access_role_commands", metadata,
    sa.Column("role", sa.String(20), primary_key=True),
    sa.Column("command", sa.String(40), primary_key=True),
)

# P3, P20: who holds which role. Append-only: the latest row per (principal, role) is in force, the rows
# are the history; written only by ``ccr access grant|revoke|bootstrap`` (with an audit_log row).
access_grants = sa.Table(
    "access_grants", metadata,
    _id(),
    sa.Column("principal", sa.String(120), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    _ts("at", nullable=False),
    sa.Index("ix_access_grants_principal", "principal", "id"),
)

# Issue 19 (migration 14): the transcript search index, one row per redacted segment (the text is the
# redacted text of ``redacted_segments``, never the raw transcript). A derived index: written with each
# redacted partition (``services/search.index_partition``), deleted by an erasure in its control-store
# transaction and by the retention purge; left out of backups (``metadata`` does not hold it) and
# rebuilt from the redacted partitions. The full-text part is engine-specific (``_v14``): an FTS5
# table over ``text`` on SQLite, a ``tsv`` column with a GIN index on PostgreSQL.
index_metadata = sa.MetaData()
search_segments = sa.Table(
    "search_segments", index_metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),  # the call's partition (YYYY-MM-DD)
    sa.Column("call_id", sa.String(64), nullable=False),
    sa.Column("segment_index", sa.Integer, nullable=False),
    sa.Column("speaker", sa.String(20)),
    sa.Column("start_s", sa.Float),
    sa.Column("end_s", sa.Float),
    sa.Column("text", sa.Text, nullable=False),
)


# Audit trails: rows are written once and never changed (P13, P20, P22).
APPEND_ONLY = ("access_log", "audit_log", "alert_deliveries", "purge_log", "ingest_events")
# Added by later migrations, with the same triggers (P12, P13).
APPEND_ONLY_LATER = ("incident_timeline", "tenant_suspensions", "retention_grants", "access_grants")


# ---------------------------------------------------------------------------
# Versioned migrations. Append new steps; never edit an applied one.
@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    upgrade: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    v1 = [schema_migrations, lineage, access_log, incidents, alert_deliveries, dsr_requests,
          purge_log, suppression_list, review_queue, audit_log]
    metadata.create_all(conn, tables=v1)


def _v2(conn: Connection) -> None:
    metadata.create_all(conn, tables=[ingest_events])


def _v3(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(sa.text(
            """
            CREATE OR REPLACE FUNCTION ccr_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
            END $$ LANGUAGE plpgsql
            """
        ))
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            conn.execute(sa.text(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION ccr_append_only()"
            ))
        else:
            for op in ("UPDATE", "DELETE"):
                conn.execute(sa.text(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END"
                ))


def _v4(conn: Connection) -> None:
    metadata.create_all(conn, tables=[incident_timeline, incident_notifications])
    # dedup: one open incident per tenant + signal; looked up on every signal
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_incidents_signal_status ON incidents (signal, status)"))
    _append_only_trigger(conn, "incident_timeline")  # P13: the timeline is evidence


def _append_only_trigger(conn: Connection, table: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                             f"FOR EACH ROW EXECUTE FUNCTION ccr_append_only()"))
    else:
        for op in ("UPDATE", "DELETE"):
            conn.execute(sa.text(f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                                 f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END"))


def _v5(conn: Connection) -> None:
    metadata.create_all(conn, tables=[tenant_suspensions])
    _append_only_trigger(conn, "tenant_suspensions")


def _v6(conn: Connection) -> None:
    metadata.create_all(conn, tables=[subject_calls])


def _v7(conn: Connection) -> None:
    # P16: the DSR log keeps every identifier's keyed hash, the art. 12(3) extension and the
    # receipt; restrictions are their own table (lifted, not deleted: the history is the evidence).
    # A fresh database got these columns from v1's create_all (same Table object): add only what is missing.
    have = {c["name"] for c in sa.inspect(conn).get_columns("dsr_requests")}
    for name, ddl in (("subject_hashes", "JSON"), ("identifier_types", "JSON"), ("extended_at", "TIMESTAMP"),
                      ("extension_reason", "VARCHAR(300)"), ("actor", "VARCHAR(200)"), ("run_id", "VARCHAR(64)")):
        if conn.dialect.name == "postgresql" and ddl == "TIMESTAMP":
            ddl = "TIMESTAMP WITH TIME ZONE"
        if name in have:
            continue
        conn.execute(sa.text(f"ALTER TABLE dsr_requests ADD COLUMN {name} {ddl}"))
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_dsr_requests_status ON dsr_requests (status, due_at)"))
    metadata.create_all(conn, tables=[subject_restrictions])


def _v8(conn: Connection) -> None:
    """P2, P9, P13: record-level lineage lookups. Partition-level rows (marts, reports) say which
    days they cover; the report and call lookups go by index, not by a scan of the tenant's rows."""
    # A database created after this change already has the columns (the table definition is
    # shared with migration 1's create_all); one created before gets them here.
    have = {c["name"] for c in sa.inspect(conn).get_columns("lineage")}
    for col in ("period_start", "period_end"):  # period_end is exclusive
        if col not in have:
            conn.execute(sa.text(f"ALTER TABLE lineage ADD COLUMN {col} VARCHAR(10)"))
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_lineage_tenant_kind_partition "
                         "ON lineage (tenant_id, artefact_kind, partition_key)"))
    # OpenLineage export reads one run's rows
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_lineage_run ON lineage (run_id)"))
    # P3: who read a call's artefacts, looked up by object within the tenant
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_access_tenant_object ON access_log (tenant_id, object)"))


# Audit trails whose expired rows the purge may delete (through a retention grant).
PURGEABLE_AUDIT = ("access_log",)


def _v11(conn: Connection) -> None:
    metadata.create_all(conn, tables=[retention_grants])
    _append_only_trigger(conn, "retention_grants")
    for table in PURGEABLE_AUDIT:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(
                f"""
                CREATE OR REPLACE FUNCTION ccr_append_only_{table}() RETURNS trigger AS $$
                BEGIN
                  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM retention_grants g WHERE g.table_name = TG_TABLE_NAME
                       AND g.tenant_id = OLD.tenant_id AND OLD.at < g.before) THEN
                    RETURN OLD;
                  END IF;
                  RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
                END $$ LANGUAGE plpgsql
                """))
            conn.execute(sa.text(f"DROP TRIGGER {table}_append_only ON {table}"))
            conn.execute(sa.text(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                                 f"FOR EACH ROW EXECUTE FUNCTION ccr_append_only_{table}()"))
        else:
            conn.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))
            conn.execute(sa.text(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"WHEN NOT EXISTS (SELECT 1 FROM retention_grants g WHERE g.table_name = '{table}' "
                f"AND g.tenant_id = old.tenant_id AND old.at < g.before) "
                f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: DELETE refused'); END"))


def _v12(conn: Connection) -> None:
    metadata.create_all(conn, tables=[quarantine_subjects, lineage_lookups])
def _v13(conn: Connection) -> None:
    """P3: roles, the commands each may run, and the append-only grant history. The tables start
    empty (a migrated store stays empty, so a backup can still be restored into it): the role table
    is written with the first admin (``services/access.bootstrap``)."""
    metadata.create_all(conn, tables=[access_role_commands, access_grants])
    _append_only_trigger(conn, "access_grants")


def _v14(conn: Connection) -> None:
    """Issue 19: the transcript search index (self-contained: it creates only its own objects).

    SQLite: ``search_segments`` and an external-content FTS5 table over its ``text``, kept in step by
    triggers (a row deleted by any statement leaves the full-text index too), tokenizer ``unicode61
    remove_diacritics 2`` (case and accents folded). PostgreSQL: the same table with a ``tsv``
    column (the folded text's ``to_tsvector('simple', …)``, written by the indexer) and a GIN index.
    Also lets the analyst and dpo roles run ``ccr search`` in a store whose role table is written."""
    cols = ("tenant_id VARCHAR(40) NOT NULL, day VARCHAR(10) NOT NULL, call_id VARCHAR(64) NOT NULL, "
            "segment_index INTEGER NOT NULL, speaker VARCHAR(20), start_s {f}, end_s {f}, text TEXT NOT NULL")
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("CREATE TABLE search_segments (id BIGSERIAL PRIMARY KEY, "
                             + cols.format(f="DOUBLE PRECISION") + ", tsv TSVECTOR NOT NULL)"))
        conn.execute(sa.text("CREATE INDEX ix_search_segments_tsv ON search_segments USING GIN (tsv)"))
    else:
        conn.execute(sa.text("CREATE TABLE search_segments (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                             + cols.format(f="FLOAT") + ")"))
        conn.execute(sa.text("CREATE VIRTUAL TABLE search_fts USING fts5(text, content='search_segments', "
                             "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"))
        conn.execute(sa.text("CREATE TRIGGER search_segments_ai AFTER INSERT ON search_segments BEGIN "
                             "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END"))
        conn.execute(sa.text("CREATE TRIGGER search_segments_ad AFTER DELETE ON search_segments BEGIN "
                             "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); END"))
        conn.execute(sa.text("CREATE TRIGGER search_segments_au AFTER UPDATE ON search_segments BEGIN "
                             "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); "
                             "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END"))
    conn.execute(sa.text("CREATE INDEX ix_search_segments_call ON search_segments (tenant_id, call_id)"))
    # a day window's id range in O(days log n) (services/search._id_window): a tenant-day's rows are one insert
    conn.execute(sa.text("CREATE INDEX ix_search_segments_day ON search_segments (tenant_id, day, id)"))
    # a store bootstrapped before this step has its role table already: add the new command's rows
    if conn.execute(sa.text("SELECT 1 FROM access_role_commands LIMIT 1")).first():
        for role in ("analyst", "dpo"):
            conn.execute(sa.text("INSERT INTO access_role_commands (role, command) SELECT :r, 'search' WHERE NOT "
                                 "EXISTS (SELECT 1 FROM access_role_commands WHERE role = :r AND command = 'search')"),
                         {"r": role})


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
    Migration(14, "transcript search index (issue 19)", _v14),
)
HEAD = MIGRATIONS[-1].version


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        from pathlib import Path

        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            import sqlite3
            import time

            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            # WAL: readers do not block the writer; several Dagster run processes
            # share this file in the embedded default. Switching a fresh file to WAL
            # needs an exclusive lock and SQLite may refuse it at once (no busy
            # wait) while another process is creating the schema: retry briefly.
            deadline = time.monotonic() + 30
            while True:
                try:
                    cur.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class ControlStore:
    """Access to the control store. Create with a SQLAlchemy URL; call ``migrate()`` once."""

    def __init__(self, url: str, *, engine: Engine | None = None):
        self.url = url
        self.engine = engine or make_engine(url)

    # -- schema -------------------------------------------------------------
    def current_version(self) -> int:
        insp = sa.inspect(self.engine)
        if not insp.has_table("schema_migrations"):
            return 0
        with self.engine.connect() as conn:
            v = conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar()
        return int(v or 0)

    def migrate(self, target: int = HEAD) -> int:
        """Apply pending migrations up to *target*, each in its own transaction. Idempotent."""
        done = self._applied_versions()
        for m in MIGRATIONS:
            if m.version in done:
                continue
            if m.version > target:
                break
            self._apply_with_retry(m)
        return self.current_version()

    def _applied_versions(self) -> set[int]:
        """The versions already applied (one query; empty when the store is new). Each pending step
        still re-checks under its lock, so concurrent migrators stay safe."""
        from sqlalchemy.exc import DBAPIError

        try:
            with self.engine.connect() as conn:
                return {int(v) for v in conn.execute(sa.select(schema_migrations.c.version)).scalars()}
        except DBAPIError:
            return set()

    def _apply_with_retry(self, m: "Migration", attempts: int = 5) -> None:
        """SQLite can answer "database is locked" at once, without waiting, when two first
        runs race on a fresh file; the step is one transaction, so retrying it is safe."""
        import time

        from sqlalchemy.exc import OperationalError

        for attempt in range(attempts):
            try:
                return self._apply(m)
            except OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))

    def _apply(self, m: "Migration") -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Serialise concurrent migrators (several processes start at once).
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(742001)"))
            elif conn.dialect.name == "sqlite":
                # Same on SQLite: take the write lock before reading the version (the
                # driver would otherwise run the DDL outside any transaction, and
                # concurrent first runs would race to create the same tables).
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            if sa.inspect(conn).has_table("schema_migrations"):
                done = conn.execute(
                    sa.select(schema_migrations.c.version).where(schema_migrations.c.version == m.version)
                ).first()
                if done:
                    return
            m.upgrade(conn)
            conn.execute(schema_migrations.insert().values(
                version=m.version, description=m.description, applied_at=utcnow()))

    # -- generic ------------------------------------------------------------
    def insert(self, table: sa.Table, rows: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> None:
        rows = [rows] if isinstance(rows, Mapping) else list(rows)
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(table.insert(), rows)

    def fetch(self, query) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # -- compliance helpers -------------------------------------------------
    def log_access(self, *, actor: str, tenant_id: str, action: str, purpose: str, obj: str,
                   run_id: str | None = None) -> None:
        """P3: one row per read/write/export/delete/link of tenant data."""
        self.insert(access_log, dict(at=utcnow(), actor=actor, tenant_id=tenant_id, action=action,
                                     purpose=purpose, object=obj, run_id=run_id))

    def audit(self, *, actor: str, entity: str, entity_id: str, change: Mapping[str, Any]) -> None:
        """P20: append-only record of a change to config, suppression list or review decisions."""
        self.insert(audit_log, dict(at=utcnow(), actor=actor, entity=entity, entity_id=entity_id,
                                    change=json.loads(json.dumps(change, default=str))))

    def record_lineage(self, rows: Iterable[Mapping[str, Any]]) -> None:
        now = utcnow()
        self.insert(lineage, [{"created_at": now, **r} for r in rows])

    def calls_of_subject(self, tenant_id: str, hashes: Iterable[str]) -> list[dict]:
        """P16: ``{call_id, day}`` of every call of *tenant_id* that names one of the subject's keyed
        hashes (one index lookup; the identifiers themselves are never stored here)."""
        hashes = sorted(set(hashes))
        if not hashes:
            return []
        q = (sa.select(subject_calls.c.call_id, subject_calls.c.day).distinct()
             .where(subject_calls.c.tenant_id == tenant_id, subject_calls.c.subject_hash.in_(hashes))
             .order_by(subject_calls.c.day, subject_calls.c.call_id))
        return self.fetch(q)

    def restricted_call_ids(self, tenant_id: str) -> set[str]:
        """P16: call ids of the subjects under an active restriction (excluded from reports)."""
        q = (sa.select(subject_calls.c.call_id).distinct()
             .join(subject_restrictions, sa.and_(subject_restrictions.c.tenant_id == subject_calls.c.tenant_id,
                                                 subject_restrictions.c.subject_hash == subject_calls.c.subject_hash))
             .where(subject_calls.c.tenant_id == tenant_id, subject_restrictions.c.lifted_at.is_(None)))
        return {r["call_id"] for r in self.fetch(q)}

    def restricted_call_uids(self) -> list[str]:
        """P16: ``tenant/call_id`` of every call under an active restriction, all tenants (for the marts)."""
        q = (sa.select(subject_calls.c.tenant_id, subject_calls.c.call_id).distinct()
             .join(subject_restrictions, sa.and_(subject_restrictions.c.tenant_id == subject_calls.c.tenant_id,
                                                 subject_restrictions.c.subject_hash == subject_calls.c.subject_hash))
             .where(subject_restrictions.c.lifted_at.is_(None)))
        return sorted(f"{r['tenant_id']}/{r['call_id']}" for r in self.fetch(q))

    def dispose(self) -> None:
        self.engine.dispose()
