"""Tenant fan-out between per-tenant-day assets.

Partitions are days and the tenant is run config (docs/partitioning.md), so
declarative automation cannot carry the tenant downstream. A fan-out sensor
reads the upstream asset's materializations from the event log (storage-id
cursor) and requests one downstream run per (tenant, day) that had work.
"""

from typing import Callable

import dagster as dg

TENANT_TAG = "ccr/tenant"
MAX_EVENTS_PER_TICK = 500


def _value(md, key, default=None):
    v = md.get(key)
    return getattr(v, "value", default) if v is not None else default


def tenant_fanout_sensor(*, name: str, upstream: dg.AssetKey, downstream: dg.AssetsDefinition,
                         had_work: Callable[[dict], bool], description: str) -> dg.SensorDefinition:
    downstream_key = downstream.key

    @dg.sensor(name=name, asset_selection=[downstream], minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING, description=description)
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        after = int(context.cursor) if context.cursor else None
        result = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=upstream, after_storage_id=after), limit=MAX_EVENTS_PER_TICK,
            ascending=True)
        if not result.records:
            return dg.SkipReason(f"no new {upstream.path[-1]} materializations")
        wanted: dict[tuple[str, str], int] = {}
        for record in result.records:
            mat = record.asset_materialization
            md = mat.metadata if mat else {}
            tenant = _value(md, "tenant_id")
            if tenant and tenant != "unrouted" and mat.partition and had_work(md):
                wanted[(tenant, mat.partition)] = record.storage_id
        cursor = str(result.records[-1].storage_id)
        if not wanted:
            return dg.SensorResult(skip_reason=dg.SkipReason(f"new {upstream.path[-1]} materializations had no work"),
                                   cursor=cursor)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    # one run per upstream event: a later batch of the same day gets its own run
                    run_key=f"{name}:{tenant}:{day}:{storage_id}",
                    partition_key=day,
                    run_config={"ops": {downstream_key.to_python_identifier(): {"config": {"tenant_id": tenant}}}},
                    tags={TENANT_TAG: tenant},
                )
                for (tenant, day), storage_id in sorted(wanted.items())
            ],
            cursor=cursor,
        )

    return _sensor


def metadata_count(md: dict, *keys: str) -> int:
    return sum(int(_value(md, k, 0) or 0) for k in keys)
