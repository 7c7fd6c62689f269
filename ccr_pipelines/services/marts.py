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


def dbt_vars(restricted_call_uids: list[str]) -> str:
    """``--vars`` for dbt: the calls restricted subjects' (P16) left out of the staging models."""
    import json

    return json.dumps({"restricted_call_uids": sorted(restricted_call_uids)})


def rebuild_marts(objects_root: str | Path, *, control=None, timeout_s: int = 900) -> None:
    """*control* (ControlStore): where the active restrictions are read (P16); none = no restriction."""
    restricted_call_uids = control.restricted_call_uids() if control is not None else []
    root = Path(objects_root).resolve()
    env = {**os.environ, "CCR_DATASETS_ROOT": str(root / "datasets"), "CCR_DUCKDB_PATH": str(duckdb_path(root)),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = str(Path(sys.executable).with_name("dbt"))
    r = subprocess.run([dbt, "run", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--quiet",
                        "--vars", dbt_vars(list(restricted_call_uids))],
                       env=env, cwd=DBT_DIR, capture_output=True, text=True, timeout=timeout_s)
    if r.returncode != 0:
        # dbt's own output names models and SQL, not data values
        raise RuntimeError(f"dbt run failed (exit {r.returncode}): {(r.stdout + r.stderr).strip()[-500:]}")
