"""The dbt project parses, and builds (with its tests) over manifest partitions the pipeline wrote;
the production dagster.yaml loads as a real instance on PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pyarrow as pa

from ccr_pipelines.services.ingest import MANIFEST_SCHEMA
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).with_name("dbt"))


def _dbt(args: list[str], tmp_path: Path, **env) -> subprocess.CompletedProcess:
    project = tmp_path / "dbt"
    if not project.exists():
        shutil.copytree(REPO / "dbt", project, ignore=shutil.ignore_patterns("target", "logs"))
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    return subprocess.run(
        [DBT, *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dbt_project_parses_offline(tmp_path):
    out = _dbt(["parse"], tmp_path)
    assert out.returncode == 0, out.stdout[-2000:]
    manifest = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())
    assert "model.ccr.stg_call_manifest" in manifest["nodes"]


def _row(tenant: str, call: str, channels: int) -> dict:
    return {
        "tenant_id": tenant,
        "call_id": call,
        "day": "2026-11-16",
        "source_key": "k",
        "audio_key": "a",
        "etag": "e",
        "sha256": "0" * 64,
        "size_bytes": 10,
        "duration_s": 1.0,
        "sample_rate": 16000,
        "channels": channels,
        "codec": "flac",
        "container": "flac",
        "subject_hashes": [],
        "has_sidecar": False,
        "ingested_at": datetime.now(UTC),
        "run_id": "r",
    }


def test_dbt_build_runs_models_and_tests_over_pipeline_partitions(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    wh = Warehouse(store)
    for tenant in ("acme-energie", "globex-support"):
        # the same call id in two tenants is two calls (call_uid is tenant-scoped)
        rows = [_row(tenant, "c-1", 2), _row(tenant, "c-2", 1)]
        wh.write_partition("call_manifest", tenant, "2026-11-16", pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA))
    env = {"CCR_DATASETS_ROOT": str(tmp_path / "objects" / "datasets"), "CCR_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    out = _dbt(["build", "--select", "stg_call_manifest", "--indirect-selection", "cautious"], tmp_path, **env)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "PASS=6" in out.stdout and "ERROR=0" in out.stdout  # 1 model + 5 tests

    bad = [_row("acme-energie", "c-9", 5)]
    wh.write_partition("call_manifest", "acme-energie", "2026-11-17", pa.Table.from_pylist(bad, schema=MANIFEST_SCHEMA))
    out = _dbt(["build", "--select", "stg_call_manifest", "--indirect-selection", "cautious"], tmp_path, **env)
    assert out.returncode != 0 and "accepted_values" in out.stdout  # the dbt test can fail


def test_production_dagster_yaml_loads_as_a_postgres_instance(tmp_path, pg_url, monkeypatch):
    db = pg_url.rsplit("/", 1)[1]
    for k, v in {
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_DB": db,
        "DAGSTER_PG_PORT": "5432",
    }.items():
        monkeypatch.setenv(k, v)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_retries_enabled and instance.run_monitoring_enabled
