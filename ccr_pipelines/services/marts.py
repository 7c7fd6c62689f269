"""Rebuild the dbt marts outside a Dagster asset run (after a purge or an erasure, P17, P19).

The marts are tables rebuilt whole from the Parquet datasets, so once a partition is dropped or
rewritten, ``dbt run`` leaves no row derived from the deleted calls. Same environment as the
``ccr_dbt_marts`` asset (local datasets folder, the DuckDB file beside the object store).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..core import catalog

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"


MARTS_KEY = catalog.MARTS_KEY  # where the marts built over an S3 store are published


def mirror_datasets(store, dest: str | Path) -> dict:
    """Make *dest* an exact copy of the object store's ``datasets/`` Parquet files: new or changed
    objects (by ETag) are downloaded, files whose object is gone are deleted (a purge or an erasure,
    P17/P19, must leave the next build). dbt-duckdb then reads local Parquet: on S3 it would need
    the httpfs extension, which DuckDB fetches from the internet at run time."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    index_path = dest / ".etags.json"
    import json

    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    seen, fetched = set(), 0
    for obj in store.list("datasets/"):
        if not obj.key.endswith(".parquet"):
            continue
        rel = obj.key[len("datasets/"):]
        seen.add(rel)
        local = dest / rel
        if index.get(rel) == obj.etag and local.exists():
            continue
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_suffix(".part")
        store.download_file(obj.key, tmp)
        os.replace(tmp, local)
        index[rel] = obj.etag
        fetched += 1
    removed = 0
    for rel in sorted(set(index) - seen):
        (dest / rel).unlink(missing_ok=True)
        index.pop(rel)
        removed += 1
    index_path.write_text(json.dumps(index, sort_keys=True))
    return {"files": len(seen), "fetched": fetched, "removed": removed}


def marts_workdir() -> Path:
    """Where marts over an S3 store are built: ``CCR_MARTS_WORKDIR`` (production: a volume of the
    code-server pod), else a folder in the temp dir."""
    import tempfile

    return Path(os.environ.get("CCR_MARTS_WORKDIR") or Path(tempfile.gettempdir()) / "ccr-marts")


def build_summary(run_results: dict) -> dict:
    """What dbt itself reports for a build (``Done. PASS=… WARN=… ERROR=… SKIP=… TOTAL=…``, every node),
    and the same for its tests alone, from ``run_results.json``."""
    statuses: dict[str, int] = {}
    tests: dict[str, int] = {}
    for r in run_results.get("results", []):
        status = {"success": "pass"}.get(str(r.get("status")), str(r.get("status")))
        statuses[status] = statuses.get(status, 0) + 1
        if str(r.get("unique_id", "")).startswith("test."):
            tests[status] = tests.get(status, 0) + 1
    return {"pass": statuses.get("pass", 0), "warn": statuses.get("warn", 0),
            "error": statuses.get("error", 0) + statuses.get("fail", 0), "skip": statuses.get("skipped", 0),
            "total": sum(statuses.values()), "tests_pass": tests.get("pass", 0), "tests_total": sum(tests.values())}


def duckdb_path(objects_root: str | Path) -> Path:
    return Path(objects_root).resolve().parent / "warehouse.duckdb"


def restricted_calls_path(duckdb_file: str | Path) -> Path:
    return Path(duckdb_file).resolve().parent / "restricted_calls.parquet"


def write_restricted_calls(control, duckdb_file: str | Path) -> Path:
    """P16: the ``tenant/call_id`` of calls under an active restriction, as a Parquet file beside the
    marts that the staging models anti-join (``dbt/macros/not_restricted.sql``, path in
    ``CCR_RESTRICTED_CALLS``). A file, not ``--vars``: the dbt command line is logged into Dagster's
    event log, which cannot be erased per call. Rewritten before every build (empty when none), so
    a lifted restriction or an erased subject leaves it at the next build."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    uids = sorted(control.restricted_call_uids()) if control is not None else []
    path = restricted_calls_path(duckdb_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.table({"uid": pa.array(uids, pa.string())}), tmp)
    os.replace(tmp, path)
    return path


def run_dbt(command: str, *, datasets_root: str | Path, duckdb_file: str | Path, control=None,
            extra_args: list[str] | None = None, timeout_s: int | None = None) -> subprocess.CompletedProcess:
    """``dbt <command>`` over the Parquet datasets under *datasets_root* into *duckdb_file*, with the
    restriction list from *control* (P16; none = no restriction). Raises on a dbt failure with the
    tail of dbt's output (model names and SQL, not data values)."""
    env = {**os.environ, "CCR_DATASETS_ROOT": str(Path(datasets_root).resolve()),
           "CCR_DUCKDB_PATH": str(Path(duckdb_file).resolve()),
           "CCR_RESTRICTED_CALLS": str(write_restricted_calls(control, duckdb_file)),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = str(Path(sys.executable).with_name("dbt"))
    r = subprocess.run([dbt, command, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                        *(extra_args or [])], env=env, cwd=DBT_DIR, capture_output=True, text=True, timeout=timeout_s)
    if r.returncode != 0:
        raise RuntimeError(f"dbt {command} failed (exit {r.returncode}): {(r.stdout + r.stderr).strip()[-3000:]}")
    return r


def rebuild_marts(objects_root: str | Path, *, control=None, timeout_s: int = 900) -> None:
    """*control* (ControlStore): where the active restrictions are read (P16); none = no restriction."""
    root = Path(objects_root).resolve()
    run_dbt("run", datasets_root=root / "datasets", duckdb_file=duckdb_path(root), control=control,
            extra_args=["--quiet"], timeout_s=timeout_s)
