"""End to end (P16, P17, P18): the demo's data -> erase one subject -> the verification scan finds
nothing, the reports are regenerated without the subject, other subjects' data are intact, the
receipt lists every deletion. The test's own checks read the stores directly (every file under
the object-store root, every Parquet row, the DuckDB marts, the SQLite control store, the Dagster
home), independently of the service's scan.

The demo runs once for the module (real ingestion, whisperx, redaction, scoring, dbt, reports).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ccr_pipelines.core.subjects import subject_hash
from ccr_pipelines.stores.control_store import dsr_requests, suppression_list

SUBJECT_PHONE = "06 12 34 56 78"  # c-1001's sidecar says "+33 6 12 34 56 78": same number, other spelling
CALL = "c-1001"
TENANT = "acme-energie"
NEEDLES = ("c-1001", "+33 6 12 34 56 78", "+33612345678", "0612345678", "cust-8f3a")
# Append-only audit trails keep pseudonymous call ids, never content; lineage keeps a tombstone
# (call id, where it was, deleted_at) for "when was it deleted" (docs/privacy.md).
AUDIT_TABLES = ("access_log", "ingest_events", "lineage")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from ccr_pipelines.demo import run_demo

    data = tmp_path_factory.mktemp("demo") / "var"
    keys = ("CCR_DATA_DIR", "CCR_ENV", "CCR_SETTINGS_FILE", "CCR_TENANTS_FILE", "DAGSTER_HOME")
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(CCR_DATA_DIR=str(data), CCR_ENV="local")
    for k in ("CCR_SETTINGS_FILE", "CCR_TENANTS_FILE"):
        os.environ.pop(k, None)
    try:
        assert run_demo(reset=True, quiet=True) == 0
        yield data
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _env(data: Path):
    import dagster as dg

    from ccr_pipelines.core.settings import resolve
    from ccr_pipelines.defs.shared.run_storage import DagsterRunStorage
    from ccr_pipelines.loaders.settings_files import load_settings
    from ccr_pipelines.platform import object_store_from_settings
    from ccr_pipelines.services.dsr import DsrEnv
    from ccr_pipelines.services.marts import duckdb_path, rebuild_marts
    from ccr_pipelines.stores.control_store import ControlStore
    from ccr_pipelines.stores.warehouse import Warehouse

    loaded = load_settings()
    store = object_store_from_settings(loaded.settings)
    control = ControlStore(loaded.settings.control_url())
    control.migrate()
    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    return DsrEnv(
        store=store,
        warehouse=Warehouse(store),
        control=control,
        registry=loaded.registry,
        secret=resolve(loaded.settings.ingest.subject_hash_key),
        actor="test",
        rebuild_marts=lambda: rebuild_marts(store.root, control=control),
        marts_path=duckdb_path(store.root),
        run_storage=DagsterRunStorage(instance, "DAGSTER_HOME"),
    )


def _parquet_rows(root: Path) -> dict[str, list[str]]:
    """relative path -> sorted call ids of its rows, for every Parquet partition."""
    out = {}
    for p in sorted(root.rglob("*.parquet")):
        rel = str(p.relative_to(root))
        if rel.startswith(("datasets/", "restricted/")):
            t = pq.ParquetFile(p).read()  # not read_table: it would take day=… folders as a column
            out[rel] = sorted(t.column("call_id").to_pylist()) if "call_id" in t.column_names else []
    return out


def _hashes(root: Path, prefixes: tuple[str, ...]) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and str(p.relative_to(root)).startswith(prefixes)
    }


def _text_of(p: Path) -> str:
    if p.suffix == ".parquet":
        t = pq.ParquetFile(p).read()
        return json.dumps(t.to_pylist(), default=str)
    return p.read_bytes().decode("utf-8", "replace")


def test_p16_p17_p18_erasing_one_demo_subject_leaves_no_trace_and_keeps_everyone_else(demo):
    env = _env(demo)
    root = Path(env.store.root)
    # the demo holds the subject: audio, sidecar, transcript, rows in every dataset, reports naming the call
    before_rows = _parquet_rows(root)
    assert any(CALL in ids for ids in before_rows.values())
    assert (root / "audio/acme-energie/2026/11/16/c-1001.flac").exists()
    weekly = root / "reports/acme-energie/weekly/2026-W47/manifest.json"
    assert CALL in {c["call_id"] for c in json.loads(weekly.read_text())["calls"]}
    others_before = {k: [c for c in v if c != CALL] for k, v in before_rows.items()}
    untouched_before = _hashes(
        root, ("audio/globex-support", "restricted/globex-support", "datasets/globex-support", "reports/globex-support")
    )
    other_audio = {k: v for k, v in _hashes(root, ("audio/acme-energie",)).items() if CALL not in k}

    from ccr_pipelines.services import dsr

    rid = dsr.register(env, TENANT, "erasure", {"phone": SUBJECT_PHONE})
    proof = dsr.erase(env, rid)

    # the service's scan over every store passed, and the receipt is complete and names no call
    assert proof["scan"]["passed"], proof["scan"]["findings"]
    req = env.control.fetch(sa.select(dsr_requests).where(dsr_requests.c.id == rid))[0]
    assert req["status"] == "completed" and req["completed_at"] is not None
    receipt = json.dumps(req["proof"])
    assert CALL not in receipt and "_pending_calls" not in receipt
    locations = {(d["store"], d["location"]) for d in req["proof"]["deleted"]}
    assert ("object_store", "audio/acme-energie/2026/11/16/<call-1>.flac") in locations
    assert ("object_store", "audio/acme-energie/2026/11/16/<call-1>.json") in locations
    assert any(
        s == "object_store" and loc.startswith("restricted/acme-energie/transcripts/2026/11/16/<call-1>/")
        for s, loc in locations
    )
    for rel, ids in before_rows.items():
        if CALL in ids:  # every partition that held the call is in the receipt, with its row count
            [entry] = [d for d in req["proof"]["deleted"] if d["store"] == "parquet" and d["location"] == rel]
            assert entry["rows"] == ids.count(CALL)
    assert ("reports", "reports/acme-energie/weekly/2026-W47/") in locations
    assert ("reports", "reports/acme-energie/monthly/2026-11/") in locations
    assert ("marts", "warehouse.duckdb") in locations

    # independent reading of every store: no file, row or byte names the call or the subject
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = str(p.relative_to(root))
            assert CALL not in rel, rel
            text = _text_of(p) if p.suffix in (".json", ".html", ".csv", ".parquet") else ""
            for needle in NEEDLES:
                if needle == "0612345678" and rel.startswith("quarantine/"):
                    continue  # the demo's key-with-a-phone upload sits in quarantine by its token, not its name
                assert needle not in text, (rel, needle)
    con = duckdb.connect(str(env.marts_path), read_only=True)
    for schema, table, col in con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_name LIKE 'mart_%'"
    ).fetchall():
        assert con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{col}" = ?', [CALL]).fetchone()[0] == 0
    con.close()
    db = sqlite3.connect(str(demo / "control.db"))
    tombstones = db.execute("SELECT count(*), count(deleted_at) FROM lineage WHERE call_id = ?", [CALL]).fetchone()
    assert tombstones[0] > 0 and tombstones[0] == tombstones[1]  # every lineage row of the call marked deleted
    dump = "\n".join(
        line for line in db.iterdump() if not line.startswith(tuple(f'INSERT INTO "{t}"' for t in AUDIT_TABLES))
    )
    db.close()
    for needle in NEEDLES:
        assert needle not in dump, needle
    for p in (demo / "dagster_home").rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for needle in NEEDLES:
                assert needle.encode() not in data, (str(p.relative_to(demo)), needle)

    # reports regenerated without the subject, with the other calls still in
    manifest = json.loads(weekly.read_text())
    calls_now = {c["call_id"] for c in manifest["calls"]}
    assert CALL not in calls_now and calls_now
    before_weekly = {c for k, v in before_rows.items() if "acme-energie/call_scores/day=2026-11-1" in k for c in v}
    assert calls_now == {c for c in before_weekly if c != CALL}

    # everyone else intact: the same rows, byte-identical other tenant, same other audio
    assert {k: v for k, v in _parquet_rows(root).items()} == {k: v for k, v in others_before.items() if v}
    assert (
        _hashes(
            root,
            ("audio/globex-support", "restricted/globex-support", "datasets/globex-support", "reports/globex-support"),
        )
        == untouched_before
    )
    assert {k: v for k, v in _hashes(root, ("audio/acme-energie",)).items()} == other_audio

    # P18: the subject is on the suppression list, so the next import of their calls is blocked
    h = subject_hash(env.secret, TENANT, "phone", SUBJECT_PHONE)
    assert env.control.fetch(
        sa.select(suppression_list.c.id).where(
            suppression_list.c.tenant_id == TENANT, suppression_list.c.subject_hash == h
        )
    )

    # the scan can fail: a stray sidecar with the subject's number and a row put back are both found
    env.store.put_bytes(
        "audio/acme-energie/2026/11/16/c-7777.json", json.dumps({"customer_phone": "+33612345678"}).encode()
    )
    findings = dsr.verify_erasure(env, TENANT, [{"call_id": CALL, "day": "2026-11-16"}], [h])
    assert any("identifier" in f and "c-7777.json" in f for f in findings), findings
    env.store.delete("audio/acme-energie/2026/11/16/c-7777.json")
    assert dsr.verify_erasure(env, TENANT, [{"call_id": CALL, "day": "2026-11-16"}], [h]) == []
