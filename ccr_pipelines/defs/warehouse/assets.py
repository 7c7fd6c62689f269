"""dbt marts (dbt-duckdb) over the pipeline's Parquet datasets; dbt tests become asset checks."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ...core.catalog import MARTS_ASSET_PREFIX
from ...resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource
from ...services.marts import MARTS_KEY, build_summary, marts_workdir, mirror_datasets, write_restricted_calls

DBT_DIR = Path(__file__).resolve().parents[3] / "dbt"
dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


def _ensure_manifest() -> None:
    # A fresh clone has no target/manifest.json: parse once (offline, ~3 s) so the
    # code location loads anywhere; `make check` / CI parse it too.
    if not dbt_project.manifest_path.exists():
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        dbt = str(Path(sys.executable).with_name("dbt"))
        subprocess.run([dbt, "parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--quiet"],
                       check=True, env=env, cwd=DBT_DIR, capture_output=True)


_ensure_manifest()
# the marts' summary observation (dbt's own PASS/WARN/ERROR totals) is attached to this mart
MART_SUMMARY_KEY = dg.AssetKey([*MARTS_ASSET_PREFIX, "mart_tenant_month"])


class CcrDbtTranslator(DagsterDbtTranslator):
    """dbt models become ["marts", "warehouse", model]; sources map to our assets through their meta."""

    def get_asset_key(self, dbt_resource_props):
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([*MARTS_ASSET_PREFIX, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props):
        return "warehouse"

    def get_owners(self, dbt_resource_props):
        return ["team:data-platform"]

    def get_description(self, dbt_resource_props):
        return (dbt_resource_props.get("description") or
                f"dbt model {dbt_resource_props['name']} (dbt-duckdb over the pipeline's Parquet datasets).")


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=CcrDbtTranslator(), pool="dbt")
def ccr_dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, object_store: ObjectStoreResource,
                  control_store: ControlStoreResource, tenant_registry: TenantRegistryResource):
    """Staging views and marts (agent-day, team-week, tenant-month, compliance by step, review backlog)."""
    if object_store.kind == "local":
        datasets = Path(object_store.root).resolve() / "datasets"
        duckdb_file = Path(object_store.root).resolve().parent / "warehouse.duckdb"
    else:
        # S3: dbt-duckdb would need the httpfs extension (fetched from the internet at run time), so the
        # datasets are mirrored into a local work folder first (changed files only; deleted partitions
        # leave it), the marts are built there and the DuckDB file is published to marts/.
        workdir = marts_workdir()
        datasets, duckdb_file = workdir / "datasets", workdir / "warehouse.duckdb"
        mirrored = mirror_datasets(object_store.get(), datasets)
        context.log.info(f"mirrored the datasets for dbt: {mirrored}")
    env = {"CCR_DATASETS_ROOT": str(datasets), "CCR_DUCKDB_PATH": str(duckdb_file),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # P16: calls of subjects under a restriction of processing stay out of the marts, through a file
    # the staging models anti-join (never on the dbt command line, which Dagster logs)
    env["CCR_RESTRICTED_CALLS"] = str(write_restricted_calls(control_store.get(), env["CCR_DUCKDB_PATH"]))
    os.environ.update(env)
    invocation = dbt.cli(["build"], context=context)
    yield from invocation.stream()
    summary = build_summary(invocation.get_artifact("run_results.json"))
    # dbt's own totals (every node: models and tests), as its "Done. PASS=…" line says
    context.log.info("dbt build: " + " ".join(f"{k.upper()}={v}" for k, v in summary.items()))
    if object_store.kind != "local":
        object_store.get().put_file(MARTS_KEY, duckdb_file)
    yield dg.AssetObservation(asset_key=MART_SUMMARY_KEY, metadata={f"dbt_{k}": v for k, v in summary.items()})
    _record_lineage(context, object_store, control_store, tenant_registry,
                    duckdb_file if object_store.kind == "local" else None)


def _record_lineage(context, object_store, control_store, tenant_registry, duckdb_path: Path | None) -> None:
    """P13: one lineage row per tenant and mart, covering the tenant's scored days (written by the
    run that built the marts, after dbt succeeded)."""
    from ... import __version__
    from ...core.lineage import LineageContext
    from ...services.lineage import record_mart_lineage
    from ...core.catalog import CALL_SCORES, asset_path
    from ...stores.warehouse import Warehouse
    import dbt.version

    wh = Warehouse(object_store.get())
    tenant_days = {t: wh.partitions(CALL_SCORES.name, t) for t in tenant_registry.get().ids()}
    models = [k.path[-1] for k in context.selected_asset_keys if k.path[-1].startswith("mart_")]
    lctx = LineageContext(run_id=context.run.run_id, asset_key=asset_path(MARTS_ASSET_PREFIX), partition_key=None,
                          code_version=__version__, region=object_store.region_label,
                          engine=f"dbt-core {dbt.version.__version__} (dbt-duckdb)")
    record_mart_lineage(control_store.get(), lctx, models=models, warehouse_uri=(f"duckdb://{duckdb_path}" if duckdb_path
                                       else object_store.get().uri(MARTS_KEY)),
                        tenant_days=tenant_days)
