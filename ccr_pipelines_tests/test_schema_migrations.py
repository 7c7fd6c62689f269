"""The control store's schema under Alembic, on SQLite and on the real PostgreSQL: the table
definitions agree with the head revision, a store the releases before Alembic created is adopted
with its rows, concurrent migrators, downgrades after the baseline, and ``ccr db``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import DBAPIError, IntegrityError

from ccr_pipelines.core.access import DEFAULT_ROLE_COMMANDS
from ccr_pipelines.stores import migrations
from ccr_pipelines.stores.control_store import (
    HEAD,
    ControlStore,
    SchemaError,
    access_grants,
    access_log,
    access_role_commands,
    audit_log,
    dsr_requests,
    incidents,
    ingest_events,
    lineage,
    metadata,
    review_queue,
    utcnow,
)

from .cli_helpers import run_cli
from .legacy_control_store import legacy_migrate
from .test_control_store import migrate_all_at_once

REPO = Path(__file__).resolve().parents[1]
BASELINE = int(migrations.BASELINE)
# the role rows revision 0014 adds to a store whose role table is written
NEW_ROLE_ROWS = {
    ("operator", "db.current"),
    ("operator", "db.history"),
    ("auditor", "db.current"),
    ("auditor", "db.history"),
}
# every role row a revision after the baseline adds: 0014's and 0015's (``search``, issue 19)
POST_BASELINE_ROLE_ROWS = NEW_ROLE_ROWS | {("analyst", "search"), ("dpo", "search")}


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path) -> str:
    return f"sqlite:///{tmp_path}/control.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")


def _diff(store: ControlStore, md: sa.MetaData = metadata) -> list:
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": migrations.include_object, "compare_type": True})
        return compare_metadata(ctx, md)


def _tables(store: ControlStore) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names())


def _alembic_rows(store: ControlStore) -> list[str]:
    return [r["version_num"] for r in store.fetch(sa.text("SELECT version_num FROM alembic_version"))]


# -- the table definitions and the migrations agree ----------------------------------------------
def test_the_table_definitions_and_the_head_revision_agree_autogenerate_finds_nothing(url):
    store = ControlStore(url)
    try:
        assert store.migrate() == HEAD
        assert _diff(store) == []
        tables = _tables(store) - {"alembic_version"}
        index = {t for t in tables if t.startswith(migrations.INDEX_TABLE_PREFIXES)}
        assert tables - index == set(metadata.tables)
        # the derived search index (revision 0015) is outside ``metadata``: its columns match its definition
        from ccr_pipelines.stores.control_store import index_metadata

        cols = {c["name"] for c in sa.inspect(store.engine).get_columns("search_segments")}
        assert set(index_metadata.tables["search_segments"].columns.keys()) <= cols
    finally:
        store.dispose()


def test_the_agreement_check_reports_a_column_or_an_index_the_revisions_lack(tmp_path):
    """The check above is not vacuous: a definition changed without a revision is reported."""
    store = ControlStore(f"sqlite:///{tmp_path}/c.db")
    try:
        store.migrate()
        changed = sa.MetaData()
        for t in metadata.sorted_tables:
            t.to_metadata(changed)
        changed.tables["lineage"].append_column(sa.Column("new_column", sa.String(10)))
        sa.Index("ix_review_new", changed.tables["review_queue"].c.score)
        kinds = sorted((d[0], d[2]) if d[0] == "add_column" else (d[0], d[1].name) for d in _diff(store, changed))
        assert kinds == [("add_column", "lineage"), ("add_index", "ix_review_new")]
    finally:
        store.dispose()


# -- a store of the releases before Alembic -----------------------------------------------------
def _fill_legacy_store(store: ControlStore) -> None:
    """Rows in tables of every kind, as the old code wrote them (the role table of a store with an admin)."""
    now = utcnow()
    store.log_access(actor="ops", tenant_id="acme-energie", action="read", purpose="qa", obj="audio/acme/c-1.wav")
    store.audit(actor="dpo", entity="tenant_config", entity_id="acme-energie", change={"languages": ["fr"]})
    store.record_lineage(
        [
            dict(
                tenant_id="acme-energie",
                call_id="c-1",
                artefact_kind="audio",
                artefact_uri="s3://b/audio/c-1.wav",
                period_start="2026-11-01",
            )
        ]
    )
    store.insert(
        ingest_events,
        dict(
            at=now,
            source_key="raw/acme-energie/2026/11/01/c-1.wav",
            etag="e1",
            outcome="accepted",
            tenant_id="acme-energie",
            call_id="c-1",
        ),
    )
    store.insert(
        review_queue, dict(tenant_id="acme-energie", call_id="c-1", reasons=["low_confidence"], created_at=now)
    )
    store.insert(
        dsr_requests,
        dict(
            tenant_id="acme-energie",
            kind="erasure",
            subject_hash="h" * 64,
            status="done",
            requested_at=now,
            due_at=now,
            subject_hashes=["h" * 64],
        ),
    )
    store.insert(incidents, dict(severity="mineur", rule="r", signal="s", tenants=["acme-energie"], detected_at=now))
    old_roles = [
        {"role": r, "command": c}
        for r, cmds in DEFAULT_ROLE_COMMANDS.items()
        for c in cmds
        if (r, c) not in NEW_ROLE_ROWS
    ]
    store.insert(access_role_commands, old_roles)
    store.insert(
        access_grants,
        dict(principal="admin@corp", role="admin", granted=True, actor="ccr:local-profile", reason="first", at=now),
    )


def _snapshot(store: ControlStore) -> dict[str, list[dict]]:
    return {t.name: store.fetch(sa.select(t).order_by(*t.primary_key.columns)) for t in metadata.sorted_tables}


def test_a_store_created_before_alembic_is_adopted_at_the_baseline_keeping_every_row(url):
    store = ControlStore(url)
    try:
        assert legacy_migrate(store.engine) == BASELINE
        _fill_legacy_store(store)
        before = _snapshot(store)
        assert store.current_revision() is None and store.current_version() == BASELINE

        assert store.migrate() == HEAD
        assert _alembic_rows(store) == [migrations.rev_id(HEAD)]
        after = _snapshot(store)
        # every row kept as it was; the one change is revision 0014's, on the role table (audited)
        roles = {(r["role"], r["command"]) for r in after.pop("access_role_commands")}
        assert roles == {(r["role"], r["command"]) for r in before.pop("access_role_commands")} | NEW_ROLE_ROWS
        new_audit = after["audit_log"][len(before["audit_log"]) :]
        after["audit_log"] = after["audit_log"][: len(before["audit_log"])]
        assert after == before
        assert sorted((a["entity_id"], a["change"]["command"]) for a in new_audit) == sorted(NEW_ROLE_ROWS)
        # the hand-rolled history stays (the legacy table); autogenerate leaves it alone and finds nothing else
        assert [r["version"] for r in store.fetch(sa.text("SELECT version FROM schema_migrations ORDER BY 1"))] == [
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            11,
            12,
            13,
        ]
        assert _diff(store) == []
        # P13, P20: the old rows are still append-only
        with pytest.raises((IntegrityError, DBAPIError), match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(access_log.delete())
        assert store.migrate() == HEAD  # idempotent once adopted
    finally:
        store.dispose()


def test_a_store_below_the_last_hand_rolled_version_is_refused_in_one_line_and_left_as_it_was(url):
    store = ControlStore(url)
    try:
        assert legacy_migrate(store.engine, target=8) == 8
        store.log_access(actor="ops", tenant_id="acme-energie", action="read", purpose="qa", obj="o")
        tables = _tables(store)
        with pytest.raises(SchemaError) as exc:
            store.migrate()
        msg = str(exc.value)
        assert "hand-rolled schema version 8" in msg and "only a store at the last one (13)" in msg
        assert "\n" not in msg
        assert _tables(store) == tables and store.current_revision() is None  # nothing stamped, nothing created
        assert len(store.fetch(sa.select(access_log))) == 1
    finally:
        store.dispose()


def test_a_store_with_control_tables_but_no_version_is_refused(tmp_path):
    store = ControlStore(f"sqlite:///{tmp_path}/c.db")
    try:
        with store.engine.begin() as conn:
            lineage.create(conn)
        with pytest.raises(SchemaError, match="holds tables but no schema version"):
            store.migrate()
        assert _tables(store) == {"lineage"}
    finally:
        store.dispose()


# -- concurrent migrators -----------------------------------------------------------------------
@pytest.mark.parametrize("start", ["fresh", "before-alembic"])
def test_concurrent_migrators_adopt_or_create_the_schema_once(url, start):
    """Daemon, webserver, CLI and run processes all migrate on start: together, they must agree."""
    if start == "before-alembic":
        first = ControlStore(url)
        legacy_migrate(first.engine)
        first.log_access(actor="ops", tenant_id="acme-energie", action="read", purpose="qa", obj="o")
        first.dispose()
    stores = [ControlStore(url) for _ in range(6)]
    results, errors = migrate_all_at_once(stores)
    try:
        assert errors == [] and results == [HEAD] * len(stores)
        assert _alembic_rows(stores[0]) == [migrations.rev_id(HEAD)]
        assert len(stores[0].fetch(sa.select(access_log))) == (1 if start == "before-alembic" else 0)
    finally:
        for s in stores:
            s.dispose()


@pytest.mark.slow
def test_separate_processes_migrating_one_fresh_store_at_once_all_reach_the_head(url):
    code = (
        "import sys; from ccr_pipelines.stores.control_store import ControlStore; "
        "s = ControlStore(sys.argv[1]); print(s.migrate()); s.dispose()"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e[-500:] for _o, e in outs]
    assert [o.strip() for o, _e in outs] == [str(HEAD)] * 3
    store = ControlStore(url)
    try:
        assert _alembic_rows(store) == [migrations.rev_id(HEAD)] and _diff(store) == []
    finally:
        store.dispose()


# -- downgrade ----------------------------------------------------------------------------------
def test_p3_p20_downgrade_undoes_the_revisions_after_the_baseline_audited_and_refuses_the_baseline(url):
    from ccr_pipelines.services import access

    store = ControlStore(url)
    try:
        store.migrate()
        assert access.bootstrap(store, "admin@corp", actor="admin@corp", reason="first admin")

        def roles() -> set[tuple[str, str]]:
            return {(r["role"], r["command"]) for r in store.fetch(sa.select(access_role_commands))}

        assert NEW_ROLE_ROWS <= roles()
        audits = len(store.fetch(sa.select(audit_log)))

        assert store.downgrade(migrations.BASELINE) == BASELINE
        assert store.current_revision() == migrations.BASELINE and not (POST_BASELINE_ROLE_ROWS & roles())
        assert len(store.fetch(sa.select(audit_log))) == audits + len(POST_BASELINE_ROLE_ROWS)  # each removal audited
        assert store.downgrade(BASELINE) == BASELINE  # already there: nothing to do

        for target, why in (
            (BASELINE - 1, "inside the baseline"),
            (1, "inside the baseline"),
            (HEAD, "after the current one"),
            ("abc", "unknown revision"),
            (99, "unknown revision"),
        ):
            with pytest.raises(SchemaError, match=why):
                store.downgrade(target)
        assert store.current_revision() == migrations.BASELINE
        assert _tables(store) - {"alembic_version"} == set(metadata.tables)  # the baseline's tables all there

        assert store.migrate() == HEAD and POST_BASELINE_ROLE_ROWS <= roles()
        assert _diff(store) == []
    finally:
        store.dispose()


# -- the CLI --------------------------------------------------------------------------------------
def test_ccr_db_shows_the_current_revision_and_history_and_downgrades_after_the_baseline(local_settings_env):
    admin = "admin@example.org"
    rc, out, err, _ = run_cli(["db", "migrate"], principal=admin)
    head = migrations.rev_id(HEAD)
    assert rc == 0 and out.strip() == f"control store at schema version {HEAD} (revision {head}, the head)", err
    rc, out, _e, _ = run_cli(["db", "history"], principal=admin)
    lines = out.strip().splitlines()
    assert rc == 0 and len(lines) == len(migrations.versions())
    assert lines[0].startswith(f"{head}  ") and lines[0].endswith("(head, current)")
    assert lines[-1] == "0001  compliance tables  (baseline)"
    rc, out, _e, _ = run_cli(["db", "downgrade", migrations.BASELINE], principal=admin)
    assert rc == 0 and out.startswith(f"control store at revision {migrations.BASELINE} (downgraded from {head}")
    # db current and db history show the store as it is (no upgrade first)
    rc, out, _e, _ = run_cli(["db", "current"], principal=admin)
    assert rc == 0 and out.strip() == (
        f"control store at revision {migrations.BASELINE} (the head is {head}: `ccr db migrate` upgrades)"
    )
    for argv, why in (
        (["db", "downgrade", "0012"], "inside the baseline"),
        (["db", "downgrade"], "needs a revision"),
        (["db", "downgrade", "0013; drop table x"], "a revision number such as 0013"),
        (["db", "downgrade", "9999"], "unknown revision"),
        (["db", "current", "0013"], "takes no revision"),
        (["db", "drop"], "invalid choice"),
    ):
        rc, out, err, escaped = run_cli(argv, principal=admin)
        assert rc == 2 and escaped is None and out == "" and err.count("\n") == 1 and why in err, (argv, err)
    # any other command upgrades the store again
    assert run_cli(["tenants", "list"], principal=admin)[0] == 0
    rc, out, _e, _ = run_cli(["db", "current"], principal=admin)
    assert out.strip() == f"control store at revision {head} (the head)"


def test_the_alembic_environment_ships_inside_the_package_without_an_ini_file():
    pkg = Path(migrations.__file__).parent
    assert (pkg / "env.py").is_file() and (pkg / "script.py.mako").is_file()
    assert not list(REPO.glob("alembic.ini")) and not list(pkg.glob("*.ini"))
    # the baseline reproduces the hand-rolled steps, numbers included; the revisions after it follow
    assert migrations.versions()[: len(migrations.LEGACY_VERSIONS)] == list(migrations.LEGACY_VERSIONS)
    assert migrations.versions()[-1] == HEAD and migrations.head() == migrations.rev_id(HEAD)
    # migrate()'s fast path reads the versions from the file names: they must name the revision ids
    assert list(migrations.file_versions()) == migrations.versions()
