"""Control store: the compliance tables (SQLAlchemy Core; SQLite or PostgreSQL).

Holds lineage, the access log (P3), incidents (P10-P13), alert deliveries
(P22), data-subject requests (P16), the purge log (P19), the suppression list
(P18), the review queue (P15), the audit trail of changes (P20) and the
ingestion ledger (every received file's fate). The tables are defined here;
Alembic revisions (``stores/migrations/versions``) create and migrate the schema,
applied by ``ControlStore.migrate``; audit-trail tables are append-only, enforced
by database triggers on both engines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ..core.errors import CcrError

metadata = sa.MetaData()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)


lineage = sa.Table(
    "lineage",
    metadata,
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
    # hand-rolled migration 8: the days a partition-level row (mart, report) covers, end exclusive
    sa.Column("period_start", sa.String(10)),
    sa.Column("period_end", sa.String(10)),
    sa.Index("ix_lineage_tenant_call", "tenant_id", "call_id"),
    sa.Index("ix_lineage_uri", "artefact_uri"),
    # revision 0008: report and partition lookups, and one run's rows (OpenLineage export)
    sa.Index("ix_lineage_tenant_kind_partition", "tenant_id", "artefact_kind", "partition_key"),
    sa.Index("ix_lineage_run", "run_id"),
)

access_log = sa.Table(
    "access_log",
    metadata,
    _id(),
    _ts("at", nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # read|write|export|delete|link
    sa.Column("purpose", sa.String(200), nullable=False),
    sa.Column("object", sa.String(1100), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Index("ix_access_tenant_at", "tenant_id", "at"),
    sa.Index("ix_access_tenant_object", "tenant_id", "object"),  # revision 0008: who read a call's artefacts
)

incidents = sa.Table(
    "incidents",
    metadata,
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
    sa.Index("ix_incidents_signal_status", "signal", "status"),  # revision 0004: one open incident per signal
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
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
    "dsr_requests",
    metadata,
    _id(),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # export|erasure|restriction|suppression
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    _ts("requested_at", nullable=False),
    _ts("due_at", nullable=False),
    _ts("completed_at"),
    sa.Column("proof", sa.JSON),
    # added by hand-rolled migration 7 (P16; revision 0001 for a new store)
    sa.Column("subject_hashes", sa.JSON),  # every identifier's keyed hash; never the identifiers
    sa.Column("identifier_types", sa.JSON),
    _ts("extended_at"),
    sa.Column("extension_reason", sa.String(300)),
    sa.Column("actor", sa.String(200)),
    sa.Column("run_id", sa.String(64)),
    sa.Index("ix_dsr_requests_status", "status", "due_at"),  # revision 0007
)

purge_log = sa.Table(
    "purge_log",
    metadata,
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
    "suppression_list",
    metadata,
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
    "review_queue",
    metadata,
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
    "audit_log",
    metadata,
    _id(),
    _ts("at", nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),  # tenant_config|suppression_list|review_decision
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("change", sa.JSON, nullable=False),
)

# P13: an incident's timeline, one row per step (detected, paged, escalated, acknowledged, resolved…).
incident_timeline = sa.Table(
    "incident_timeline",
    metadata,
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
    "incident_notifications",
    metadata,
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
    "tenant_suspensions",
    metadata,
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
    "subject_calls",
    metadata,
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
    "subject_restrictions",
    metadata,
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
    "retention_grants",
    metadata,
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
    "quarantine_subjects",
    metadata,
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
    "lineage_lookups",
    metadata,
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
    "ingest_events",
    metadata,
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
    "access_role_commands",
    metadata,
    sa.Column("role", sa.String(20), primary_key=True),
    sa.Column("command", sa.String(40), primary_key=True),
)

# P3, P20: who holds which role. Append-only: the latest row per (principal, role) is in force, the rows
# are the history; written only by ``ccr access grant|revoke|bootstrap`` (with an audit_log row).
access_grants = sa.Table(
    "access_grants",
    metadata,
    _id(),
    sa.Column("principal", sa.String(120), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    _ts("at", nullable=False),
    sa.Index("ix_access_grants_principal", "principal", "id"),
)

# Issue 19 (schema revision 0015): the transcript search index, one row per redacted segment (the text is the
# redacted text of ``redacted_segments``, never the raw transcript). A derived index: written with each
# redacted partition (``services/search.index_partition``), deleted by an erasure in its control-store
# transaction and by the retention purge; left out of backups (``metadata`` does not hold it) and
# rebuilt from the redacted partitions. The full-text part is engine-specific (revision 0015): an FTS5
# table over ``text`` on SQLite, a ``tsv`` column with a GIN index on PostgreSQL.
index_metadata = sa.MetaData()
search_segments = sa.Table(
    "search_segments",
    index_metadata,
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
# Audit trails whose expired rows the purge may delete (through a retention grant).
PURGEABLE_AUDIT = ("access_log",)


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


class SchemaError(CcrError):
    """The control store's schema cannot be migrated as asked (one line, safe to print)."""


def __getattr__(name: str):
    """``HEAD``: the head revision's schema version, read from the revision scripts when first asked."""
    if name == "HEAD":
        from .migrations import head

        return int(head())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_MIGRATION_LOCK = 742001  # PostgreSQL advisory lock id: one migrator at a time (kept from the hand-rolled steps)


def _schema_state(conn: Connection) -> tuple[str, int, str | None]:
    """``(kind, version, revision)``; kind is ``alembic``, ``legacy`` (the hand-rolled
    ``schema_migrations`` only), ``empty`` (no control-store table) or ``unknown`` (tables, no version)."""
    from .migrations import LEGACY_TABLE

    tables = set(sa.inspect(conn).get_table_names())
    if "alembic_version" in tables:
        rev = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return "alembic", int(rev or 0), rev
    if LEGACY_TABLE in tables:
        v = conn.execute(sa.text(f"SELECT MAX(version) FROM {LEGACY_TABLE}")).scalar()
        return "legacy", int(v or 0), None
    return ("unknown" if tables & set(metadata.tables) else "empty"), 0, None


class ControlStore:
    """Access to the control store. Create with a SQLAlchemy URL; call ``migrate()`` once."""

    def __init__(self, url: str, *, engine: Engine | None = None):
        self.url = url
        self.engine = engine or make_engine(url)

    # -- schema (Alembic revisions in stores/migrations) ---------------------
    def current_version(self) -> int:
        """The schema version: the Alembic revision's number; for a store the releases before Alembic
        created and not yet adopted, its hand-rolled version (the numbers agree); 0 when new."""
        with self.engine.connect() as conn:
            return _schema_state(conn)[1]

    def current_revision(self) -> str | None:
        """The Alembic revision the store is at; None when it is not under Alembic (yet)."""
        with self.engine.connect() as conn:
            return _schema_state(conn)[2]

    def migrate(self, target: int | str | None = None) -> int:
        """Upgrade to revision *target* (the head by default; a number means the last revision up to
        it) and return the version reached. Never downgrades; idempotent; one transaction under a
        lock, so concurrent migrators (daemon, webserver, CLI, run processes) are safe. A store the
        releases before Alembic created is adopted first: stamped at the baseline, only when it is
        at their last version (else ``SchemaError``)."""
        from .migrations import file_versions, rev_id

        known = file_versions()  # not Alembic's scripts: a store at the head is checked without loading them
        goal = known[-1] if target is None else max((v for v in known if v <= int(target)), default=0)
        try:
            rev = self.current_revision()  # fast path, no lock: already there
        except DBAPIError:
            rev = None
        if rev is not None and int(rev) >= goal:
            return int(rev)

        def work(conn: Connection) -> int:
            from alembic import command

            from . import migrations

            kind, version, rev = _schema_state(conn)
            if kind == "legacy":
                self._adopt(conn)
                kind, version, rev = _schema_state(conn)
            elif kind == "unknown":
                raise SchemaError(
                    "the control store holds tables but no schema version (neither Alembic's nor "
                    "the hand-rolled one): refusing to migrate it"
                )
            if goal and (kind != "alembic" or version < goal):
                command.upgrade(migrations.config(conn), rev_id(goal))
            return _schema_state(conn)[1]

        return self._locked(work)

    def _adopt(self, conn: Connection) -> None:
        """Stamp a store of the releases before Alembic at the baseline, after checking it is at their
        last hand-rolled version with every table; its ``schema_migrations`` rows stay (history)."""
        from alembic import command

        from . import migrations

        done = {int(v) for v in conn.execute(sa.text(f"SELECT version FROM {migrations.LEGACY_TABLE}")).scalars()}
        last = migrations.LEGACY_VERSIONS[-1]
        if max(done, default=0) != last or not set(migrations.LEGACY_VERSIONS) <= done:
            raise SchemaError(
                f"control store at hand-rolled schema version {max(done, default=0)}: Alembic adopts "
                f"only a store at the last one ({last}); upgrade it with the release before Alembic "
                f"first (docs/operations.md)"
            )
        missing = migrations.BASELINE_TABLES - set(sa.inspect(conn).get_table_names())
        if missing:
            raise SchemaError(
                f"control store at hand-rolled schema version {last} lacks {len(missing)} table(s) "
                f"({', '.join(sorted(missing)[:3])}): not adopted"
            )
        command.stamp(migrations.config(conn), migrations.BASELINE)

    def downgrade(self, target: int | str) -> int:
        """Downgrade to revision *target*, undoing the revisions after it (their tables and rows go:
        take a backup first). The baseline is never downgraded: *target* must be at least ``BASELINE``."""
        from alembic import command

        from . import migrations

        text = str(target).strip()
        if not text.isdigit() or int(text) not in migrations.versions():
            raise SchemaError(f"unknown revision {ascii(text[:20])} (see `ccr db history`)")
        goal = int(text)
        if goal < int(migrations.BASELINE):
            raise SchemaError(
                f"revision {migrations.rev_id(goal)} is inside the baseline (up to "
                f"{migrations.BASELINE}, the schema before Alembic), which is not downgraded; "
                f"restore a backup instead"
            )

        def work(conn: Connection) -> int:
            kind, version, _rev = _schema_state(conn)
            if kind != "alembic":
                raise SchemaError("the control store is not under Alembic yet: `ccr db migrate` first")
            if goal > version:
                raise SchemaError(
                    f"revision {migrations.rev_id(goal)} is after the current one "
                    f"({migrations.rev_id(version)}): `ccr db migrate` upgrades"
                )
            if goal < version:
                command.downgrade(migrations.config(conn), migrations.rev_id(goal))
            return _schema_state(conn)[1]

        return self._locked(work)

    def history(self) -> list[dict]:
        """Every revision, newest first: version, revision id, description, and whether it is the
        current one, the head, part of the baseline."""
        from . import migrations

        try:
            current = self.current_revision()
        except DBAPIError:
            current = None
        head = migrations.head()
        return [
            {
                "version": int(s.revision),
                "revision": s.revision,
                "down_revision": s.down_revision,
                "description": s.doc,
                "current": s.revision == current,
                "head": s.revision == head,
                "baseline": int(s.revision) <= int(migrations.BASELINE),
            }
            for s in migrations.script().walk_revisions()
        ]

    def _locked(self, work: Callable[[Connection], int], attempts: int = 5) -> int:
        """Run *work* in one transaction holding the migration lock (PostgreSQL: an advisory lock;
        SQLite: the write lock, BEGIN IMMEDIATE), and commit. SQLite can answer "database is
        locked" at once when two first runs race on a fresh file: the transaction is retried."""
        import time

        for attempt in range(attempts):
            try:
                with self.engine.connect() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
                    elif conn.dialect.name == "sqlite":
                        # take the write lock before reading the version (the driver would otherwise run
                        # the DDL outside any transaction, and concurrent first runs would race)
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    out = work(conn)
                    conn.commit()
                    return out
            except OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

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
    def log_access(
        self, *, actor: str, tenant_id: str, action: str, purpose: str, obj: str, run_id: str | None = None
    ) -> None:
        """P3: one row per read/write/export/delete/link of tenant data."""
        self.insert(
            access_log,
            dict(
                at=utcnow(), actor=actor, tenant_id=tenant_id, action=action, purpose=purpose, object=obj, run_id=run_id
            ),
        )

    def audit(self, *, actor: str, entity: str, entity_id: str, change: Mapping[str, Any]) -> None:
        """P20: append-only record of a change to config, suppression list or review decisions."""
        self.insert(
            audit_log,
            dict(
                at=utcnow(),
                actor=actor,
                entity=entity,
                entity_id=entity_id,
                change=json.loads(json.dumps(change, default=str)),
            ),
        )

    def record_lineage(self, rows: Iterable[Mapping[str, Any]]) -> None:
        now = utcnow()
        self.insert(lineage, [{"created_at": now, **r} for r in rows])

    def calls_of_subject(self, tenant_id: str, hashes: Iterable[str]) -> list[dict]:
        """P16: ``{call_id, day}`` of every call of *tenant_id* that names one of the subject's keyed
        hashes (one index lookup; the identifiers themselves are never stored here)."""
        hashes = sorted(set(hashes))
        if not hashes:
            return []
        q = (
            sa.select(subject_calls.c.call_id, subject_calls.c.day)
            .distinct()
            .where(subject_calls.c.tenant_id == tenant_id, subject_calls.c.subject_hash.in_(hashes))
            .order_by(subject_calls.c.day, subject_calls.c.call_id)
        )
        return self.fetch(q)

    def restricted_call_ids(self, tenant_id: str) -> set[str]:
        """P16: call ids of the subjects under an active restriction (excluded from reports)."""
        q = (
            sa.select(subject_calls.c.call_id)
            .distinct()
            .join(
                subject_restrictions,
                sa.and_(
                    subject_restrictions.c.tenant_id == subject_calls.c.tenant_id,
                    subject_restrictions.c.subject_hash == subject_calls.c.subject_hash,
                ),
            )
            .where(subject_calls.c.tenant_id == tenant_id, subject_restrictions.c.lifted_at.is_(None))
        )
        return {r["call_id"] for r in self.fetch(q)}

    def restricted_call_uids(self) -> list[str]:
        """P16: ``tenant/call_id`` of every call under an active restriction, all tenants (for the marts)."""
        q = (
            sa.select(subject_calls.c.tenant_id, subject_calls.c.call_id)
            .distinct()
            .join(
                subject_restrictions,
                sa.and_(
                    subject_restrictions.c.tenant_id == subject_calls.c.tenant_id,
                    subject_restrictions.c.subject_hash == subject_calls.c.subject_hash,
                ),
            )
            .where(subject_restrictions.c.lifted_at.is_(None))
        )
        return sorted(f"{r['tenant_id']}/{r['call_id']}" for r in self.fetch(q))

    def dispose(self) -> None:
        self.engine.dispose()
