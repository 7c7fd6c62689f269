"""Data-quality sweeps (P4, P7): Great Expectations 1.x suites, volume, freshness, transcript gates.

Each sweep looks at every active tenant's most recent partitions of one
dataset, tenant by tenant (a tenant's rows are validated against the
expectation that they are all its own, P4), and returns which tenants failed
and which expectations — names and counts, never values: GX's
``partial_unexpected_list`` can hold data, so it is not passed on.
GX is imported here only, when a sweep runs (it takes ~2 s), never at load.
"""

from __future__ import annotations

import os
from datetime import date

import pyarrow as pa

from ..core.catalog import CALL_MANIFEST, TRANSCRIPT_CALLS
from ..core.quality import GATE_MAX_SHARE, LOW_CONFIDENCE, SUITES, days_late, volume_anomaly
from ..core.tenants import TenantRegistry
from ..stores.warehouse import Warehouse

RECENT_PARTITIONS = 3  # the days a sweep re-validates per tenant: today's and the two before
HEAVY_COLUMNS = ("results_json", "subject_hashes", "text", "speech_regions")  # not validated, not loaded
_GX: dict = {}


def _gx_batch_definition():
    if not _GX:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics leave the machine
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        # "Calculating Metrics" bars on stderr would fill the run logs; both flags are needed in GX 1.24
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        asset = context.data_sources.add_pandas("ccr").add_dataframe_asset("partition")
        _GX.update(gx=gx, batch_definition=asset.add_batch_definition_whole_dataframe("whole"))
    return _GX["gx"], _GX["batch_definition"]


def validate(dataset: str, tenant_id: str, table: pa.Table) -> list[str]:
    """Names of the failed expectations of *dataset*'s suite on *table* (empty = passed)."""
    gx, batch_definition = _gx_batch_definition()
    suite = gx.ExpectationSuite(name=f"{dataset}:{tenant_id}")
    for name, kwargs in SUITES[dataset]:
        args = {
            k: ([tenant_id if x == "{tenant}" else x for x in v] if isinstance(v, list) else v)
            for k, v in kwargs.items()
        }
        suite.add_expectation(getattr(gx.expectations, name)(**args))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": table.to_pandas()})
    result = batch.validate(suite)
    return sorted(
        {
            f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column', '')})"
            for r in result.results
            if not r.success
        }
    )


def _recent(wh: Warehouse, dataset: str, tenant_id: str, n: int = RECENT_PARTITIONS) -> pa.Table | None:
    tables = []
    for day in wh.partitions(dataset, tenant_id)[-n:]:
        t = wh.read_partition(dataset, tenant_id, day)
        if t is not None:
            tables.append(t.drop_columns([c for c in HEAVY_COLUMNS if c in t.column_names]))
    return pa.concat_tables(tables, promote_options="permissive") if tables else None


def sweep_suite(wh: Warehouse, registry: TenantRegistry, dataset: str) -> dict:
    failed: dict[str, list[str]] = {}
    checked = rows = 0
    for tenant_id in registry.active_ids():
        table = _recent(wh, dataset, tenant_id)
        if table is None:
            continue
        checked += 1
        rows += table.num_rows
        bad = validate(dataset, tenant_id, table)
        if bad:
            failed[tenant_id] = bad
    return {"failed_tenants": sorted(failed), "failed_expectations": failed, "tenants_checked": checked, "rows": rows}


def sweep_volume(wh: Warehouse, registry: TenantRegistry, dataset: str = CALL_MANIFEST.name) -> dict:
    """Per tenant: calls on its newest day vs the median of its previous days."""
    anomalies: dict[str, str] = {}
    for tenant_id in registry.active_ids():
        days = wh.partitions(dataset, tenant_id)
        if len(days) < 2:
            continue
        counts = [(wh.read_partition(dataset, tenant_id, d) or pa.table({})).num_rows for d in days[-15:]]
        verdict = volume_anomaly(counts[:-1], counts[-1])
        if verdict:
            anomalies[tenant_id] = verdict
    return {"failed_tenants": sorted(anomalies), "direction": anomalies}


def sweep_freshness(wh: Warehouse, registry: TenantRegistry, today: date, dataset: str = CALL_MANIFEST.name) -> dict:
    late = {}
    for tenant_id in registry.active_ids():
        days = wh.partitions(dataset, tenant_id)
        n = days_late(date.fromisoformat(days[-1]) if days else None, today)
        if n:
            late[tenant_id] = n
    return {"failed_tenants": sorted(late), "days_late": late, "max_days_late": max(late.values(), default=0)}


def sweep_transcript_gates(wh: Warehouse, registry: TenantRegistry, dataset: str = TRANSCRIPT_CALLS.name) -> dict:
    """Share of each tenant's recent calls with a quality signal, against GATE_MAX_SHARE."""
    failed: dict[str, dict[str, float]] = {}
    for tenant_id in registry.active_ids():
        table = _recent(wh, dataset, tenant_id)
        if table is None or table.num_rows == 0:
            continue
        rows = [
            r
            for r in table.select(
                ["status", "mean_confidence", "hallucination_suspected", "language_mismatch"]
            ).to_pylist()
            if r["status"] != "failed"
        ]
        if not rows:
            continue
        shares = {
            "low_confidence": sum((r["mean_confidence"] or 0) < LOW_CONFIDENCE for r in rows) / len(rows),
            "hallucination_suspected": sum(bool(r["hallucination_suspected"]) for r in rows) / len(rows),
            "language_mismatch": sum(bool(r["language_mismatch"]) for r in rows) / len(rows),
        }
        over = {k: round(v, 3) for k, v in shares.items() if v > GATE_MAX_SHARE[k]}
        if over:
            failed[tenant_id] = over
    return {"failed_tenants": sorted(failed), "shares_over_gate": failed}
