"""Issue 15 (P6, P16, P17, P18, P19): one erasure whatever runs it, and restores that keep erasures.

A subject is planted in every zone of the embedded default's data dir — an accepted call (real
ingestion), a duplicate upload, quarantined uploads (a key that is the subject's phone number, an
empty recording with a sidecar naming their e-mail, a reason record in the old format with their
e-mail as a file name), every Parquet dataset, a transcript sentence, a report, the DuckDB marts, a
DSR export bundle, lineage-lookup answers (the Dagster job, by request id), an OpenLineage file and
a backup. The data dir is copied: one copy is erased by ``ccr dsr erase`` as a subprocess, the other
by ``dsr_erasure_job`` in Dagster. Same verdict, same locations, and the test's own reading of
every store (files, Parquet rows, DuckDB, the SQLite dump, the Dagster home) finds 0 occurrences of
the phone, e-mail, customer ref, call id or sentence (backups listed in the receipt, not counted).
Then the pre-erasure backup is restored into SQLite and PostgreSQL: the subject is absent, still
suppressed, and a new upload of theirs is blocked.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ccr_pipelines.core.report_periods import period_containing
from ccr_pipelines.core.subjects import subject_hash
from ccr_pipelines.stores.control_store import (
    ControlStore,
    dsr_requests,
    lineage,
    lineage_lookups,
    quarantine_subjects,
    review_queue,
    subject_calls,
    suppression_list,
    utcnow,
)

from .analytics_helpers import write_scored_day
from .audio_helpers import wav_bytes
from .ingest_helpers import sidecar

REPO = Path(__file__).resolve().parents[1]
T, DAY = "acme-energie", "2026-11-16"
PREFIX = f"raw/{T}/2026/11/16/"
CALL, DUP, OTHER = "c-5001", "c-5003", "c-5002"
PHONE, EMAIL, REF = "+33 6 12 34 56 78", "marie.lambert@example.fr", "cust-77aa91"
SENTENCE = "Je suis Marie Lambert et j'habite au 14 rue des Lilas"
NEEDLES = (CALL, "+33 6 12 34 56 78", "+33612345678", "0612345678", EMAIL, REF, SENTENCE)
# append-only audit trails keep pseudonymous call ids (never content): documented in docs/privacy.md
AUDIT_TABLES = ("access_log", "ingest_events", "lineage")


def _use(data: Path) -> dict:
    """Point the process at *data* (the local profile); returns the old environment."""
    keys = ("CCR_DATA_DIR", "CCR_ENV", "CCR_SETTINGS_FILE", "CCR_TENANTS_FILE", "DAGSTER_HOME")
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(CCR_DATA_DIR=str(data), CCR_ENV="local", DAGSTER_HOME=str(data / "dagster_home"))
    for k in ("CCR_SETTINGS_FILE", "CCR_TENANTS_FILE"):
        os.environ.pop(k, None)
    return old


def _restore_env(old: dict) -> None:
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _settings():
    from ccr_pipelines.core.settings import resolve
    from ccr_pipelines.loaders.settings_files import load_settings
    from ccr_pipelines.platform import object_store_from_settings

    loaded = load_settings()
    control = ControlStore(loaded.settings.control_url())
    control.migrate()
    return (
        loaded,
        object_store_from_settings(loaded.settings),
        control,
        resolve(loaded.settings.ingest.subject_hash_key),
    )


def _plant(data: Path) -> dict:
    from ccr_pipelines.defs.lineage.jobs import lineage_lookup_job
    from ccr_pipelines.resources import resources_from_settings
    from ccr_pipelines.services import backup, dsr
    from ccr_pipelines.services import lineage as lineage_svc
    from ccr_pipelines.services.ingest import IngestEnv, ingest_batch
    from ccr_pipelines.services.marts import rebuild_marts
    from ccr_pipelines.services.openlineage import AssetRun, emit, events_for_run
    from ccr_pipelines.services.reports import generate_report
    from ccr_pipelines.services.transcribe import SEGMENTS_DATASET, SEGMENTS_SCHEMA
    from ccr_pipelines.stores.warehouse import Warehouse

    (data / "dagster_home").mkdir(parents=True)
    (data / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    loaded, store, control, secret = _settings()
    wh = Warehouse(store)
    # Parquet: every dataset of the day holds the subject's call and two others; a sentence of theirs
    write_scored_day(wh, control, "default.v1", T, DAY, {CALL: "good", OTHER: "bad", "c-5010": "good"})
    wh.write_partition(
        SEGMENTS_DATASET,
        T,
        DAY,
        pa.Table.from_pylist(
            [
                {
                    "tenant_id": T,
                    "call_id": c,
                    "segment_index": 0,
                    "speaker": "customer",
                    "channel": 1,
                    "start_s": 0.0,
                    "end_s": 2.0,
                    "text": SENTENCE if c == CALL else "Bonjour.",
                    "avg_logprob": -0.1,
                    "no_speech_prob": 0.0,
                    "compression_ratio": 1.0,
                    "speech_regions": [[0.0, 2.0]],
                }
                for c in (CALL, OTHER)
            ],
            schema=SEGMENTS_SCHEMA,
        ),
        zone="restricted",
    )
    store.put_bytes(
        f"restricted/{T}/transcripts/2026/11/16/{CALL}/0000-tiny.json",
        json.dumps({"segments": [{"text": SENTENCE}, {"text": "mon numéro, +33612345678"}]}).encode(),
    )
    # real ingestion: the accepted call (sidecar with all three identifiers), then a duplicate upload,
    # a key that is the subject's phone number, an empty recording whose sidecar names their e-mail
    audio = wav_bytes(1.0)
    ids = dict(customer_phone=PHONE, customer_email=EMAIL, customer_ref=REF)
    store.put_bytes(PREFIX + f"{CALL}.json", sidecar(**ids))
    store.put_bytes(PREFIX + f"{CALL}.wav", audio)
    store.put_bytes(PREFIX + f"{OTHER}.json", sidecar(customer_phone="+33 6 99 88 77 66"))
    store.put_bytes(PREFIX + f"{OTHER}.wav", wav_bytes(1.5))

    def ingest(run_id: str):
        env = IngestEnv(
            store=store,
            control=control,
            warehouse=wh,
            registry=loaded.registry,
            secret=secret,
            run_id=run_id,
            today=datetime(2026, 11, 20).date(),
            max_duration_s=600.0,
        )
        return ingest_batch(env, None, tenant_id=T, day=DAY)

    assert ingest("ingest-run-1").outcomes["accepted"] == 2
    store.put_bytes(PREFIX + f"{DUP}.json", sidecar(**ids))
    store.put_bytes(PREFIX + f"{DUP}.wav", audio)
    store.put_bytes(PREFIX + "0612345678.wav", wav_bytes(1.2))
    store.put_bytes(PREFIX + "c-5004.json", sidecar(customer_email=EMAIL, customer_phone="0612345678"))
    store.put_bytes(PREFIX + "c-5004.wav", b"")
    out = ingest("ingest-run-2")
    assert (out.outcomes["duplicate"], out.outcomes["quarantined"]) == (1, 2), out.outcomes
    # the playback copies (personal data silenced, issue 18): audio too, erased with the call
    from ccr_pipelines.services.playback import playback_key, render_partition

    assert render_partition(wh, T, DAY)["calls"] == 2
    # a quarantine record in the format before issue 15 (raw key, not indexed): found by reading
    store.put_bytes(
        f"quarantine/{T}/2026/11/16/0123456789abcdef/reason.json",
        json.dumps({"source_key": PREFIX + f"{EMAIL}.wav", "reason": "personal_data_in_key"}).encode(),
    )
    store.put_bytes(f"quarantine/{T}/2026/11/16/0123456789abcdef/object.bin", b"RIFF")
    # report, marts, a DSR export bundle
    generate_report(
        wh,
        control,
        loaded.registry.require(T),
        period_containing("weekly", datetime(2026, 11, 16).date()),
        run_id=None,
        actor="test",
    )
    rebuild_marts(store.root, control=control)
    env = dsr.erasure_env(store, control, loaded.registry, secret, actor="test", rebuild_marts=None)
    dsr.export(env, dsr.register(env, T, "export", {"email": EMAIL}))
    # lineage lookups through the Dagster job, by request id (a call, and the subject by keyed hash)
    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    res = resources_from_settings(loaded)
    for kind, target in (("call", CALL), ("subject_hash", subject_hash(secret, T, "phone", PHONE))):
        rid = lineage_svc.register_lookup(control, T, kind, target, actor="auditor")
        lineage_lookup_job.execute_in_process(
            instance=instance,
            resources={k: res[k] for k in ("control_store", "object_store", "tenant_registry")},
            run_config={"ops": {"lineage_lookup": {"config": {"request_id": rid}}}},
        )
    # the OpenLineage file of the ingestion run (it names the call's audio)
    now = utcnow()
    events = events_for_run(
        control, "ingest-run-1", [AssetRun("silver/ingest/call_manifest", DAY, now, now, True)], engine_version="test"
    )
    ol_key = emit(events, store=store, dagster_run_id="ingest-run-1", day=DAY)
    # today's events name datasets per tenant (the day is a facet); a file written before that
    # convention names the call's own audio: append such an event so the rewrite is exercised
    legacy = {
        "eventType": "COMPLETE",
        "run": {"runId": "00000000-0000-0000-0000-000000000001"},
        "job": {"namespace": "ccr", "name": "silver/ingest/call_manifest"},
        "inputs": [],
        "outputs": [{"namespace": "ccr", "name": f"audio/{T}/2026/11/16/{CALL}.wav"}],
    }
    store.put_bytes(ol_key, store.get_bytes(ol_key) + (json.dumps(legacy) + "\n").encode())
    assert CALL in store.get_bytes(ol_key).decode()
    # a backup taken before the erasure (control store and the marts file)
    manifest = backup.create_backup(control, store, marts_path=data / "warehouse.duckdb")
    instance.dispose()
    control.dispose()
    # every zone holds the subject before the erasure
    assert store.exists(f"audio/{T}/2026/11/16/{CALL}.wav") and store.exists(playback_key(T, DAY, CALL))
    quarantined = [o.key for o in store.list(f"quarantine/{T}/")]
    assert sum(k.endswith("sidecar.json") for k in quarantined) == 1 and len(quarantined) >= 6
    assert len(list(store.list(f"exports/{T}/lineage/"))) == 2
    return {"backup_id": manifest.backup_id, "secret": secret, "ol_key": ol_key}


def _texts(data: Path):
    """(relative path, text) of every file of the data dir the test reads (backups excluded)."""
    for p in sorted(data.rglob("*")):
        if not p.is_file():
            continue
        rel = str(p.relative_to(data))
        if rel.startswith("objects/control/backups/") or rel.endswith(("-wal", "-shm")):
            continue  # backups: listed in the receipt with their expiry, not counted (issue 15)
        if p.suffix == ".parquet":
            yield rel, json.dumps(pq.ParquetFile(p).read().to_pylist(), default=str)
        elif p.suffix in (".db", ".duckdb") or rel.startswith("dagster_home/"):
            continue  # read below through their engines / as bytes
        else:
            yield rel, p.read_bytes().decode("utf-8", "replace")


def _occurrences(data: Path) -> list[tuple[str, str]]:
    hits = []
    for rel, text in _texts(data):
        for needle in NEEDLES:
            if needle in text or needle in rel:
                hits.append((rel, needle))
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    for schema, table, col in con.execute(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c JOIN "
        "information_schema.tables t USING (table_schema, table_name) WHERE c.data_type = 'VARCHAR' "
        "AND t.table_type = 'BASE TABLE'"
    ).fetchall():
        for needle in NEEDLES:
            if con.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE contains("{col}", ?)', [needle]
            ).fetchone()[0]:
                hits.append((f"duckdb {table}.{col}", needle))
    con.close()
    db = sqlite3.connect(str(data / "control.db"))
    dump = "\n".join(
        line for line in db.iterdump() if not line.startswith(tuple(f'INSERT INTO "{t}"' for t in AUDIT_TABLES))
    )
    live_lineage = db.execute(
        "SELECT count(*) FROM lineage WHERE call_id = ? AND deleted_at IS NULL", [CALL]
    ).fetchone()
    db.close()
    hits += [("control.db", n) for n in NEEDLES if n in dump]
    if live_lineage[0]:
        hits.append(("control.db lineage not marked deleted", CALL))
    for p in (data / "dagster_home").rglob("*"):
        if p.is_file():
            body = p.read_bytes()
            hits += [(str(p.relative_to(data)), n) for n in NEEDLES if n.encode() in body]
    return hits


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base = tmp_path_factory.mktemp("erase-everywhere")
    a = base / "cli"
    old = _use(a)
    try:
        info = _plant(a)
    finally:
        _restore_env(old)
    # the test's own reading finds every needle before the erasure (it can fail)
    before = _occurrences(a)
    assert {n for _, n in before} == set(NEEDLES), before
    assert not any("0612345678" in rel for rel, _ in before)  # the phone-number key: kept as a token only
    b = base / "job"
    shutil.copytree(a, b)
    return {"cli": a, "job": b, **info}


def _erase_with_the_job(data: Path) -> tuple[int, dict]:
    from ccr_pipelines.defs.retention.jobs import dsr_erasure_job
    from ccr_pipelines.resources import resources_from_settings
    from ccr_pipelines.services import dsr

    old = _use(data)
    try:
        loaded, store, control, secret = _settings()
        env = dsr.erasure_env(store, control, loaded.registry, secret, actor="dpo")
        rid = dsr.register(env, T, "erasure", {"phone": "0612345678", "email": EMAIL, "customer_ref": REF})
        res = resources_from_settings(loaded)
        instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
        result = dsr_erasure_job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            resources={
                k: res[k]
                for k in ("object_store", "warehouse", "control_store", "tenant_registry", "ingest_config", "alerting")
            },
            run_config={"ops": {"dsr_erasure": {"config": {"request_id": rid}}}},
        )
        assert result.success
        req = control.fetch(sa.select(dsr_requests).where(dsr_requests.c.id == rid))[0]
        instance.dispose()
        control.dispose()
        return rid, req
    finally:
        _restore_env(old)


def _erase_with_the_cli(data: Path) -> tuple[int, dict, str]:
    env = {
        **os.environ,
        "CCR_DATA_DIR": str(data),
        "CCR_ENV": "local",
        "PYTHONPATH": str(REPO),
        "DAGSTER_HOME": str(data / "dagster_home"),
        "CCR_PRINCIPAL": "dpo",
    }
    for k in ("CCR_SETTINGS_FILE", "CCR_TENANTS_FILE"):
        env.pop(k, None)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ccr_pipelines.cli",
            "dsr",
            "erase",
            T,
            "--phone",
            "0612345678",
            "--email",
            EMAIL,
            "--customer-ref",
            REF,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "verification passed" in r.stdout and "Traceback" not in r.stderr
    rid = int(r.stdout.split("request ", 1)[1].split()[0])
    db = ControlStore(f"sqlite:///{data}/control.db")
    req = db.fetch(sa.select(dsr_requests).where(dsr_requests.c.id == rid))[0]
    db.dispose()
    return rid, req, r.stdout


def _erased(planted) -> Path:
    """The CLI copy, erased (by the first test, or here when a test runs alone)."""
    data = planted["cli"]
    db = ControlStore(f"sqlite:///{data}/control.db")
    done = db.fetch(
        sa.select(dsr_requests.c.id).where(dsr_requests.c.kind == "erasure", dsr_requests.c.status == "completed")
    )
    db.dispose()
    if not done:
        _erase_with_the_cli(data)
    return data


def test_p16_p17_p18_one_erasure_reaches_every_zone_with_the_same_verdict_from_the_cli_and_the_job(planted):
    cli_rid, cli_req, out = _erase_with_the_cli(planted["cli"])
    job_rid, job_req = _erase_with_the_job(planted["job"])
    for req in (cli_req, job_req):
        assert req["status"] == "completed" and req["completed_at"] is not None, req["proof"]["scan"]["findings"]
        assert req["proof"]["scan"]["passed"] and req["proof"]["scan"]["findings"] == []
        receipt = json.dumps(req["proof"])
        for needle in NEEDLES:
            assert needle not in receipt
        # P6, P17: the backup taken before the erasure is listed with its expiry (35 days), not counted
        [b] = req["proof"]["backups_holding_subject"]
        assert b["backup_id"] == planted["backup_id"]
        assert (datetime.fromisoformat(b["expires_at"]) - datetime.fromisoformat(b["created_at"])).days == 35
    # both read Dagster's run storage: the CLI opened the data dir's instance, as the job uses its own
    assert cli_req["proof"]["scan"]["dagster_run_storage"] == "DAGSTER_HOME"
    assert job_req["proof"]["scan"]["dagster_run_storage"] == "the running job's instance"
    # same verdict, same locations deleted, same locations read (but for who opened Dagster)
    loc = {
        r: sorted((d["store"], d["location"]) for d in q["proof"]["deleted"])
        for r, q in (("cli", cli_req), ("job", job_req))
    }
    # 29: the playback copy (issue 18), the search index and the call's turn_sentiment, call_sentiment and
    # call_cards rows (issue 19; no category hit)
    assert loc["cli"] == loc["job"] and len(loc["cli"]) == 29
    read = {
        r: [x for x in q["proof"]["scan"]["locations_read"] if not x.startswith("dagster")]
        for r, q in (("cli", cli_req), ("job", job_req))
    }
    # 24: playback/, call_acoustics, turn_loudness and the 4 conversation datasets
    assert read["cli"] == read["job"] and len(read["cli"]) == 24, read["cli"]
    stores = {s for s, _ in loc["cli"]}
    assert {
        "object_store",
        "quarantine",
        "exports",
        "openlineage",
        "parquet",
        "reports",
        "marts",
        "control_store",
    } <= stores, stores
    assert sum(1 for s, _ in loc["cli"] if s == "quarantine") == 3  # phone key, e-mail sidecar, old record
    assert sum(1 for s, _ in loc["cli"] if s == "exports") == 2  # the call lookup and the subject lookup
    # the test's own reading of every store: 0 occurrences
    for which in ("cli", "job"):
        assert _occurrences(planted[which]) == [], which
    # the other call and the other tenant's data are intact
    root = planted["cli"] / "objects"
    assert (root / f"audio/{T}/2026/11/16/{OTHER}.wav").exists()
    assert (root / f"playback/{T}/2026/11/16/{OTHER}.wav").exists()
    assert not (root / f"playback/{T}/2026/11/16/{CALL}.wav").exists()
    ol = (root / planted["ol_key"]).read_text()
    assert "silver/ingest/call_manifest" in ol and CALL not in ol  # the OpenLineage file was rewritten, not dropped


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_p6_p17_p18_p19_a_restore_of_a_backup_taken_before_the_erasure_keeps_the_subject_erased_and_suppressed(
    planted, engine, tmp_path, request, capsys, monkeypatch
):
    """Runs after the erasure above (module order): the ledger in the object store's control zone
    is re-applied by ``ccr backup restore`` before it returns."""
    monkeypatch.setenv("CCR_PRINCIPAL", "dpo")  # the store's first caller (the CLI erasure), its admin (P3)
    from ccr_pipelines.cli import main
    from ccr_pipelines.services.ingest import IngestEnv, ingest_batch
    from ccr_pipelines.stores.warehouse import Warehouse

    data = _erased(planted)
    url = f"sqlite:///{tmp_path}/restored.db" if engine == "sqlite" else request.getfixturevalue("pg_url")
    old = _use(data)
    try:
        assert (
            main(
                [
                    "backup",
                    "restore",
                    planted["backup_id"],
                    "--into",
                    url,
                    "--marts-into",
                    str(tmp_path / "marts.duckdb"),
                ]
            )
            == 0
        )
        said = capsys.readouterr().out
        assert "erasure ledger: 2 entr(y/ies) re-applied" in said  # the erasure's first entry and its receipt
        secret = planted["secret"]
        target = ControlStore(url)
        hashes = [subject_hash(secret, T, k, v) for k, v in (("phone", PHONE), ("email", EMAIL), ("customer_ref", REF))]
        # absent: no index row, no review row, no quarantine index, no lookup target, lineage marked deleted
        assert (
            target.fetch(
                sa.select(subject_calls).where(
                    sa.or_(subject_calls.c.call_id == CALL, subject_calls.c.subject_hash.in_(hashes))
                )
            )
            == []
        )
        assert target.fetch(sa.select(review_queue).where(review_queue.c.call_id == CALL)) == []
        assert target.fetch(sa.select(quarantine_subjects)) == []
        assert all(r["target"] is None for r in target.fetch(sa.select(lineage_lookups)))
        rows = target.fetch(sa.select(lineage.c.deleted_at).where(lineage.c.call_id == CALL))
        assert rows and all(r["deleted_at"] is not None for r in rows)
        # still suppressed: every identifier's hash is on the list
        listed = {
            r["subject_hash"]
            for r in target.fetch(sa.select(suppression_list).where(suppression_list.c.tenant_id == T))
        }
        assert set(hashes) <= listed
        # the restored marts copy holds no row of the call (its stored tables are aggregates without call ids)
        con = duckdb.connect(str(tmp_path / "marts.duckdb"), read_only=True)
        for schema, table in con.execute(
            "SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'call_id'"
        ).fetchall():
            assert (
                con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE call_id = ?', [CALL]).fetchone()[0] == 0
            )
        con.close()
        # P18: a new upload of the subject, checked against the restored store, is blocked
        loaded, store, live, secret = _settings()
        live.dispose()
        store.put_bytes(
            f"raw/{T}/2026/11/18/c-5020.json", sidecar(customer_ref=REF, started_at="2026-11-18T09:00:00+01:00")
        )
        store.put_bytes(f"raw/{T}/2026/11/18/c-5020.wav", wav_bytes(1.1))
        env = IngestEnv(
            store=store,
            control=target,
            warehouse=Warehouse(store),
            registry=loaded.registry,
            secret=secret,
            run_id=f"after-restore-{engine}",
            today=datetime(2026, 11, 20).date(),
            max_duration_s=600.0,
        )
        out = ingest_batch(env, None, tenant_id=T, day="2026-11-18")
        assert out.outcomes["suppressed"] == 1 and out.outcomes["accepted"] == 0, out.outcomes
        target.dispose()
    finally:
        _restore_env(old)


def test_p6_a_restore_without_the_subject_hash_key_is_refused_before_the_target_is_touched(planted, tmp_path):
    from ccr_pipelines.core.backup import BackupError
    from ccr_pipelines.services import backup

    old = _use(_erased(planted))
    try:
        _loaded, store, live, _secret = _settings()
        live.dispose()
        target = ControlStore(f"sqlite:///{tmp_path}/t.db")
        with pytest.raises(BackupError, match="subject-hash key"):
            backup.restore_backup(store, planted["backup_id"], target)
        assert target.current_version() == 0
        target.dispose()
    finally:
        _restore_env(old)


def test_p16_p17_no_job_or_asset_takes_a_call_id_a_key_or_an_identifier_in_run_config():
    """README: "neither call ids nor identifiers reach Dagster's run storage". Every config class of
    the code location is read: DSRs and lineage lookups take a request id, ingestion keyed digests."""
    import importlib
    import pkgutil

    import ccr_pipelines.defs as defs_pkg

    for mod in pkgutil.walk_packages(defs_pkg.__path__, "ccr_pipelines.defs."):
        importlib.import_module(mod.name)
    forbidden = {
        "call_id",
        "call_ids",
        "keys",
        "key",
        "target",
        "phone",
        "email",
        "customer_ref",
        "identifier",
        "identifiers",
        "subject",
        "subject_hash",
        "value",
    }
    seen, stack = {}, list(dg.Config.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        if cls.__module__.startswith("ccr_pipelines.defs."):
            seen[f"{cls.__module__}.{cls.__name__}"] = set(cls.model_fields)
    assert "ccr_pipelines.defs.lineage.jobs.LineageLookupConfig" in seen and len(seen) >= 8, sorted(seen)
    assert seen["ccr_pipelines.defs.lineage.jobs.LineageLookupConfig"] == {"request_id"}
    assert {name: fields & forbidden for name, fields in seen.items() if fields & forbidden} == {}
