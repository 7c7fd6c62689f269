"""The dbt marts' locations and invocations, inside and outside a Dagster asset run.

The one place that knows where the dbt project is (``DBT_DIR``), where the marts file of a store
lives (``marts_location``: beside a local store's root; a work folder for a store in S3, published
to ``MARTS_KEY``), how dbt is given those paths (``dbt_env`` / ``dbt_vars``, never by changing this
process's environment) and how the manifest the code location reads is prepared
(``prepare_dbt_manifest``, called by ``definitions``, ``ccr demo``, ``make check`` and the tests).

Rebuilds after a purge or an erasure (P17, P19): the marts are tables rebuilt whole from the Parquet
datasets, so once a partition is dropped or rewritten, ``dbt run`` leaves no row derived from the
deleted calls. Same environment as the ``ccr_dbt_marts`` asset.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core import catalog

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"  # the dbt project (the repository's dbt/ folder)
MARTS_FILE = "warehouse.duckdb"
MARTS_KEY = catalog.MARTS_KEY  # where the marts built over an S3 store are published (marts/warehouse.duckdb)


@dataclass(frozen=True)
class MartsLocation:
    """Where dbt reads the Parquet datasets and writes the DuckDB marts for one object store."""

    datasets_root: Path
    duckdb_file: Path
    # S3: the datasets are mirrored into a local work folder first and the built file is published
    # to this key; None for a local store (dbt reads the store's own folder)
    publish_key: str | None = None

    @property
    def mirrored(self) -> bool:
        return self.publish_key is not None


def marts_location(store) -> MartsLocation:
    """A local store: its ``datasets/`` folder and the DuckDB file beside its root. Elsewhere (S3):
    dbt-duckdb would need the httpfs extension (fetched from the internet at run time), so the
    datasets are mirrored into ``marts_workdir()`` and the file built there is published to
    ``MARTS_KEY``."""
    from ..stores.object_store import LocalObjectStore

    if isinstance(store, LocalObjectStore):
        root = Path(store.root).resolve()
        return MartsLocation(root / "datasets", duckdb_path(root))
    workdir = marts_workdir()
    return MartsLocation(workdir / "datasets", workdir / MARTS_FILE, publish_key=MARTS_KEY)


def marts_file(store) -> Path | None:
    """The marts file a backup copies and an erasure scan reads: beside a local store's root;
    elsewhere ``CCR_DUCKDB_PATH`` when the deployment sets it (None: no local copy to read)."""
    from ..stores.object_store import LocalObjectStore

    if isinstance(store, LocalObjectStore):
        return duckdb_path(store.root)
    return Path(os.environ["CCR_DUCKDB_PATH"]) if os.environ.get("CCR_DUCKDB_PATH") else None


def marts_rebuilder(store, control):
    """How a purge or an erasure rebuilds the marts at once (P17, P19): where dbt can read the datasets
    (a local store); elsewhere None, and the next marts run rebuilds them."""
    from ..stores.object_store import LocalObjectStore

    if not isinstance(store, LocalObjectStore):
        return None
    return lambda: rebuild_marts(store.root, control=control)


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
        rel = obj.key[len("datasets/") :]
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
    return {
        "pass": statuses.get("pass", 0),
        "warn": statuses.get("warn", 0),
        "error": statuses.get("error", 0) + statuses.get("fail", 0),
        "skip": statuses.get("skipped", 0),
        "total": sum(statuses.values()),
        "tests_pass": tests.get("pass", 0),
        "tests_total": sum(tests.values()),
    }


def duckdb_path(objects_root: str | Path) -> Path:
    """The marts file of a local store whose root is *objects_root*: beside that folder."""
    return Path(objects_root).resolve().parent / MARTS_FILE


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


def dbt_executable() -> str:
    """The dbt next to this interpreter: the venv's bin is not always on PATH (cron, daemon, tests)."""
    return str(Path(sys.executable).with_name("dbt"))


def dbt_vars(datasets_root: str | Path, duckdb_file: str | Path, restricted_calls: str | Path) -> dict:
    """The paths dbt reads (``--vars`` for the asset's invocation; the models fall back to the
    ``CCR_*`` environment variables of ``dbt_env``). Paths only: the command line is logged (P16)."""
    return {
        "ccr_datasets_root": str(Path(datasets_root).resolve()),
        "ccr_duckdb_path": str(Path(duckdb_file).resolve()),
        "ccr_restricted_calls": str(restricted_calls),
    }


def dbt_env(datasets_root: str | Path, duckdb_file: str | Path, restricted_calls: str | Path) -> dict:
    """The same paths as environment variables for a dbt subprocess (added to its env, never to ours)."""
    v = dbt_vars(datasets_root, duckdb_file, restricted_calls)
    return {
        "CCR_DATASETS_ROOT": v["ccr_datasets_root"],
        "CCR_DUCKDB_PATH": v["ccr_duckdb_path"],
        "CCR_RESTRICTED_CALLS": v["ccr_restricted_calls"],
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_manifest_path() -> Path:
    return DBT_DIR / "target" / "manifest.json"


def prepare_dbt_manifest(*, force: bool = False) -> Path:
    """The dbt manifest the code location's dbt assets are built from: ``dbt parse`` (offline, ~3 s)
    when it is missing (a fresh clone) or *force*. Called before the definitions load (``definitions``,
    ``ccr demo``, ``make check``, the tests' conftest), never as a side effect of an import."""
    path = dbt_manifest_path()
    if force or not path.exists():
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        r = subprocess.run(
            [dbt_executable(), "parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--quiet"],
            env=env,
            cwd=DBT_DIR,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0 or not path.exists():
            raise RuntimeError(f"dbt parse failed (exit {r.returncode}): {(r.stdout + r.stderr).strip()[-2000:]}")
    return path


# A folder name that is not a tenant id (core/keys.TENANT_ID_RE): never listed or read as a tenant.
EMPTY_SOURCES_FOLDER = "_empty"


def ensure_mart_sources(datasets_root: str | Path) -> list[str]:
    """dbt reads each mart source through a glob that must match at least one file. A dataset no tenant
    has written yet — a store scored before the dataset existed (issue 19's conversation datasets after
    an upgrade), a fresh store before its first scoring — gets an empty placeholder of its schema under
    ``_empty/``, deleted again once a tenant's partition exists. Returns the datasets given one."""
    from ..core import catalog

    root = Path(datasets_root)
    made = []
    for d in catalog.MART_SOURCES:
        placeholder = root / EMPTY_SOURCES_FOLDER / d.name / "day=1970-01-01" / "part.parquet"
        if any(p != placeholder for p in root.glob(f"*/{d.name}/day=*/part.parquet")):
            if placeholder.exists():
                placeholder.unlink()
            continue
        if d.schema is None or placeholder.exists():
            continue
        import pyarrow.parquet as pq

        placeholder.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(d.schema.empty_table(), placeholder)
        made.append(d.name)
    return made


def run_dbt(
    command: str,
    *,
    datasets_root: str | Path,
    duckdb_file: str | Path,
    control=None,
    extra_args: list[str] | None = None,
    timeout_s: int | None = None,
) -> subprocess.CompletedProcess:
    """``dbt <command>`` over the Parquet datasets under *datasets_root* into *duckdb_file*, with the
    restriction list from *control* (P16; none = no restriction). Raises on a dbt failure with the
    tail of dbt's output (model names and SQL, not data values)."""
    ensure_mart_sources(datasets_root)
    env = {**os.environ, **dbt_env(datasets_root, duckdb_file, write_restricted_calls(control, duckdb_file))}
    dbt = dbt_executable()
    r = subprocess.run(
        [dbt, command, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), *(extra_args or [])],
        env=env,
        cwd=DBT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if r.returncode != 0:
        raise RuntimeError(f"dbt {command} failed (exit {r.returncode}): {(r.stdout + r.stderr).strip()[-3000:]}")
    return r


def rebuild_marts(objects_root: str | Path, *, control=None, timeout_s: int = 900) -> None:
    """*control* (ControlStore): where the active restrictions are read (P16); none = no restriction."""
    root = Path(objects_root).resolve()
    run_dbt(
        "run",
        datasets_root=root / "datasets",
        duckdb_file=duckdb_path(root),
        control=control,
        extra_args=["--quiet"],
        timeout_s=timeout_s,
    )
