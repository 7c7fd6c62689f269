"""The control store on SQLite and on the real PostgreSQL: migrations, audit trails, helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from ccr_pipelines.stores.control_store import (
    APPEND_ONLY,
    APPEND_ONLY_LATER,
    HEAD,
    ControlStore,
    access_log,
    audit_log,
    incidents,
    lineage,
    metadata,
    review_queue,
    suppression_list,
    utcnow,
)
from ccr_pipelines.stores.migrations import rev_id

REPO = Path(__file__).resolve().parents[1]


def _fresh_url(backend: str, tmp_path, request) -> str:
    return f"sqlite:///{tmp_path}/fresh.db" if backend == "sqlite" else request.getfixturevalue("pg_url")


def _alembic_versions(store: ControlStore) -> list[str]:
    return [r["version_num"] for r in store.fetch(sa.text("SELECT version_num FROM alembic_version"))]


def test_migrate_reaches_head_and_is_idempotent(control_store):
    assert control_store.current_version() == HEAD
    assert control_store.migrate() == HEAD
    assert control_store.migrate() == HEAD
    assert _alembic_versions(control_store) == [rev_id(HEAD)] == [control_store.current_revision()]
    tables = set(sa.inspect(control_store.engine).get_table_names())
    assert {
        "lineage",
        "access_log",
        "incidents",
        "alert_deliveries",
        "dsr_requests",
        "purge_log",
        "suppression_list",
        "review_queue",
        "audit_log",
        "ingest_events",
    } <= tables


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_older_schema_is_upgraded_in_place_keeping_its_rows(backend, tmp_path, request):
    store = ControlStore(_fresh_url(backend, tmp_path, request))
    try:
        assert store.current_version() == 0
        assert store.migrate(target=1) == 1
        assert store.migrate(target=1) == 1 and store.migrate(target=0) == 1  # never downgrades
        store.log_access(actor="a", tenant_id="acme-energie", action="read", purpose="p", obj="o")
        store.insert(review_queue, dict(tenant_id="acme-energie", call_id="c-1", reasons=[], created_at=utcnow()))
        assert "ingest_events" not in sa.inspect(store.engine).get_table_names()
        # A second process holding an engine opened on the old schema sees the upgrade too.
        assert ControlStore(store.url).migrate() == HEAD
        assert store.current_version() == HEAD
        [row] = store.fetch(access_log.select())
        assert (row["actor"], row["tenant_id"], row["object"]) == ("a", "acme-energie", "o")
        assert len(store.fetch(review_queue.select())) == 1
        assert "ingest_events" in sa.inspect(store.engine).get_table_names()
        # rows written before the append-only triggers existed are protected by them now
        with pytest.raises((IntegrityError, DBAPIError), match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(access_log.delete())
    finally:
        store.dispose()


def migrate_all_at_once(stores: list[ControlStore]) -> tuple[list, list[str]]:
    """Each store migrates in its own thread, all released together; (versions reached, errors)."""
    barrier = threading.Barrier(len(stores))
    results, errors = [], []

    def migrate(store):
        barrier.wait()
        try:
            results.append(store.migrate())
        except Exception as exc:  # noqa: BLE001 - collected and shown by the caller's assertion
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_first_runs_migrate_a_fresh_store_once(backend, tmp_path, request):
    # Every Dagster run process migrates on first use: several starting together on a
    # fresh store must all succeed, and each migration must be applied exactly once.
    url = _fresh_url(backend, tmp_path, request)
    stores = [ControlStore(url) for _ in range(6)]
    results, errors = migrate_all_at_once(stores)
    try:
        assert errors == [] and results == [HEAD] * len(stores)
        assert _alembic_versions(stores[0]) == [rev_id(HEAD)]
    finally:
        for s in stores:
            s.dispose()


def _row_for(table: sa.Table) -> dict:
    values = {}
    for col in table.columns:
        if col.primary_key or col.nullable or col.server_default is not None:
            continue
        if isinstance(col.type, sa.DateTime):
            values[col.name] = utcnow()
        elif isinstance(col.type, (sa.Integer, sa.BigInteger)):
            values[col.name] = 1
        elif isinstance(col.type, sa.Boolean):
            values[col.name] = False
        elif isinstance(col.type, sa.JSON):
            values[col.name] = {}
        else:
            values[col.name] = "x"
    return values


@pytest.mark.parametrize("table_name", APPEND_ONLY + APPEND_ONLY_LATER)
def test_p3_p13_p20_p22_audit_trails_refuse_update_and_delete(control_store, table_name):
    table = metadata.tables[table_name]
    if table_name in ("alert_deliveries", "incident_timeline"):
        control_store.insert(incidents, dict(severity="mineur", rule="r", signal="s", tenants=[], detected_at=utcnow()))
    control_store.insert(table, _row_for(table))
    first_text_col = next(c.name for c in table.columns if isinstance(c.type, sa.String) and not c.nullable)
    for stmt in (table.update().values({first_text_col: "changed"}), table.delete()):
        with pytest.raises((IntegrityError, DBAPIError)) as exc:
            with control_store.engine.begin() as conn:
                conn.execute(stmt)
        assert "append-only" in str(exc.value)
    assert len(control_store.fetch(table.select())) == 1


def test_p3_p20_audit_trails_still_accept_new_rows(control_store):
    for i in range(3):
        control_store.log_access(actor="ops", tenant_id="acme-energie", action="read", purpose="qa", obj=f"o-{i}")
    assert [r["object"] for r in control_store.fetch(access_log.select().order_by(access_log.c.id))] == [
        "o-0",
        "o-1",
        "o-2",
    ]


def test_working_tables_accept_updates(control_store):
    control_store.insert(
        review_queue, dict(tenant_id="acme-energie", call_id="c-1", reasons=["low_confidence"], created_at=utcnow())
    )
    with control_store.engine.begin() as conn:
        conn.execute(review_queue.update().values(status="reviewed", reviewer="qa-1", decided_at=utcnow()))
    [row] = control_store.fetch(review_queue.select())
    assert row["status"] == "reviewed" and row["reasons"] == ["low_confidence"]


def test_p3_access_log_and_p20_audit_and_lineage_helpers(control_store):
    control_store.log_access(
        actor="dagster-run:1",
        tenant_id="acme-energie",
        action="export",
        purpose="dsr",
        obj="exports/acme-energie/x.zip",
        run_id="1",
    )
    control_store.audit(actor="ops", entity="tenant_config", entity_id="abc", change={"added": ["t-1"]})
    control_store.record_lineage(
        [
            dict(
                tenant_id="acme-energie",
                call_id="c-1",
                artefact_kind="audio",
                artefact_uri="s3://b/audio/acme-energie/c-1.wav",
                region="eu-west-3",
            )
        ]
    )
    [a] = control_store.fetch(access_log.select())
    assert (a["actor"], a["action"], a["purpose"]) == ("dagster-run:1", "export", "dsr") and a["at"] is not None
    assert control_store.fetch(audit_log.select())[0]["change"] == {"added": ["t-1"]}
    assert control_store.fetch(lineage.select())[0]["region"] == "eu-west-3"


def test_p18_a_subject_is_listed_once_per_tenant(control_store):
    row = dict(
        tenant_id="acme-energie",
        subject_hash="h" * 64,
        identifier_type="phone",
        reason="objection",
        added_by="dpo",
        added_at=utcnow(),
    )
    control_store.insert(suppression_list, row)
    with pytest.raises(IntegrityError):
        control_store.insert(suppression_list, row)
    control_store.insert(suppression_list, {**row, "tenant_id": "globex-support"})


def test_postgres_tests_skip_on_a_laptop_but_fail_in_ci_when_the_server_is_missing():
    # The pg_url fixture itself, run in a child pytest against a port where nothing listens.
    test = "ccr_pipelines_tests/test_control_store.py::test_p18_a_subject_is_listed_once_per_tenant"
    outcomes = {}
    for ci in ("", "true"):
        env = {**os.environ, "CCR_TEST_PG_ADMIN_URL": "postgresql+psycopg2://postgres@127.0.0.1:1/postgres", "CI": ci}
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", f"{test}[postgres]"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outcomes[ci] = (out.returncode, out.stdout)
    rc, text = outcomes[""]
    assert rc == 0 and "1 skipped" in text and "PostgreSQL is not reachable" in text, text[-1500:]
    rc, text = outcomes["true"]
    assert rc != 0 and "1 error" in text and "required in CI" in text, text[-1500:]
