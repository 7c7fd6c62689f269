"""dbt marts (dbt-duckdb) over the pipeline's Parquet datasets; dbt tests become asset checks.

Importing this module runs nothing: the manifest is prepared before the definitions load
(``services.marts.prepare_dbt_manifest``, called by ``definitions``, ``ccr demo``, ``make check`` and
the tests), and a run hands dbt its paths on its own command line (``--vars``), never through this
process's environment."""

import json

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from ...core.catalog import MARTS_ASSET_PREFIX
from ...platform import dbt_project
from ...resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource
from ...services.marts import (
    build_summary,
    dbt_vars,
    ensure_mart_sources,
    marts_location,
    mirror_datasets,
    write_restricted_calls,
)

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
        return (
            dbt_resource_props.get("description")
            or f"dbt model {dbt_resource_props['name']} (dbt-duckdb over the pipeline's Parquet datasets)."
        )


@dbt_assets(manifest=dbt_project().manifest_path, dagster_dbt_translator=CcrDbtTranslator(), pool="dbt")
def ccr_dbt_marts(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    object_store: ObjectStoreResource,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
):
    """Staging views and marts (agent-day, team-week, tenant-month, compliance by step, review backlog)."""
    store = object_store.get()
    marts = marts_location(store)
    if marts.mirrored:
        # the datasets are mirrored into a local work folder (changed files only; deleted partitions
        # leave it), the marts are built there and the DuckDB file is published (services/marts)
        mirrored = mirror_datasets(store, marts.datasets_root)
        context.log.info(f"mirrored the datasets for dbt: {mirrored}")
    # P16: calls of subjects under a restriction of processing stay out of the marts, through a file
    # the staging models anti-join (its path on the command line, never the ids, which Dagster logs)
    restricted = write_restricted_calls(control_store.get(), marts.duckdb_file)
    placeholders = ensure_mart_sources(marts.datasets_root)  # a source no tenant has written yet: empty
    if placeholders:
        context.log.info(f"empty mart sources (no tenant has written them yet): {placeholders}")
    invocation = dbt.cli(
        ["build", "--vars", json.dumps(dbt_vars(marts.datasets_root, marts.duckdb_file, restricted))], context=context
    )
    yield from invocation.stream()
    summary = build_summary(invocation.get_artifact("run_results.json"))
    # dbt's own totals (every node: models and tests), as its "Done. PASS=…" line says
    context.log.info("dbt build: " + " ".join(f"{k.upper()}={v}" for k, v in summary.items()))
    if marts.publish_key:
        store.put_file(marts.publish_key, marts.duckdb_file)
    yield dg.AssetObservation(asset_key=MART_SUMMARY_KEY, metadata={f"dbt_{k}": v for k, v in summary.items()})
    _record_lineage(
        context,
        object_store,
        control_store,
        tenant_registry,
        store.uri(marts.publish_key) if marts.publish_key else f"duckdb://{marts.duckdb_file}",
    )


def _record_lineage(context, object_store, control_store, tenant_registry, warehouse_uri: str) -> None:
    """P13: one lineage row per tenant and mart, covering the tenant's scored days (written by the
    run that built the marts, after dbt succeeded)."""
    import dbt.version

    from ... import __version__
    from ...core.catalog import CALL_SCORES, asset_path
    from ...core.lineage import LineageContext
    from ...services.lineage import record_mart_lineage
    from ...stores.warehouse import Warehouse

    wh = Warehouse(object_store.get())
    tenant_days = {t: wh.partitions(CALL_SCORES.name, t) for t in tenant_registry.get().ids()}
    models = [k.path[-1] for k in context.selected_asset_keys if k.path[-1].startswith("mart_")]
    lctx = LineageContext(
        run_id=context.run.run_id,
        asset_key=asset_path(MARTS_ASSET_PREFIX),
        partition_key=None,
        code_version=__version__,
        region=object_store.region_label,
        engine=f"dbt-core {dbt.version.__version__} (dbt-duckdb)",
    )
    record_mart_lineage(control_store.get(), lctx, models=models, warehouse_uri=warehouse_uri, tenant_days=tenant_days)
