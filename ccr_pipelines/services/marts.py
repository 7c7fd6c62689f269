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

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"


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
