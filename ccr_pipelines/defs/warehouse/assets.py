"""dbt marts (dbt-duckdb) over the pipeline's Parquet datasets; dbt tests become asset checks."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ...resources import ControlStoreResource, ObjectStoreResource
from ...services.marts import dbt_vars

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


class CcrDbtTranslator(DagsterDbtTranslator):
    """dbt models become ["marts", "warehouse", model]; sources map to our assets through their meta."""

    def get_asset_key(self, dbt_resource_props):
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey(["marts", "warehouse", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props):
        return "warehouse"

    def get_owners(self, dbt_resource_props):
        return ["team:data-platform"]

    def get_description(self, dbt_resource_props):
        return (dbt_resource_props.get("description") or
                f"dbt model {dbt_resource_props['name']} (dbt-duckdb over the pipeline's Parquet datasets).")


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=CcrDbtTranslator(), pool="dbt")
def ccr_dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, object_store: ObjectStoreResource,
                  control_store: ControlStoreResource):
    """Staging views and marts (agent-day, team-week, tenant-month, compliance by step, review backlog)."""
    if object_store.kind != "local":
        # dbt-duckdb reads the Parquet files directly; on S3 that needs the httpfs extension,
        # which is fetched at run time — production mounts or syncs the datasets first.
        raise dg.Failure("dbt marts read the datasets from a local path; set object_store.kind=local or sync them")
    env = {"CCR_DATASETS_ROOT": str(Path(object_store.root).resolve() / "datasets"),
           "CCR_DUCKDB_PATH": str(Path(object_store.root).resolve().parent / "warehouse.duckdb"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    os.environ.update(env)
    # P16: calls of subjects under a restriction of processing stay out of the marts (ids as a dbt var,
    # never in Dagster metadata: the var is passed on the command line only)
    restricted = control_store.get().restricted_call_uids()
    args = ["build", "--vars", dbt_vars(restricted)] if restricted else ["build"]
    yield from dbt.cli(args, context=context).stream()
