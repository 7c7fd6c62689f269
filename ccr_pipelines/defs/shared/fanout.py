"""Tenant fan-out between per-tenant-day assets.

Partitions are days and the tenant is run config (docs/partitioning.md), so
declarative automation cannot carry the tenant downstream. A fan-out sensor
reads the upstream asset's materializations (``fetch_materializations`` with a
storage-id cursor: asset events are indexed across runs on Dagster's run-sharded SQLite
instance as on dagster-postgres) and requests one downstream run per (tenant, day) that had work.
"""

import json
from collections.abc import Callable

import dagster as dg

from ...core.catalog import TENANT_TAG
from ...resources import TenantRegistryResource
from .intervals import interval_s

MAX_EVENTS_PER_TICK = 500


def _value(md, key, default=None):
    v = md.get(key)
    if v is None:
        return default
    return v.value if hasattr(v, "value") else v


def tenant_days(mat) -> list[tuple[str, dict]]:
    """(tenant, its metadata) of one materialization: ``tenant_id`` for a one-tenant run, or each entry
    of ``tenants`` for a run over several tenants (a backfill, ``shared.tenancy.fold_metadata``)."""
    md = mat.metadata if mat else {}
    tenant = _value(md, "tenant_id")
    if tenant:
        return [(tenant, md)]
    return [(t, counts) for t, counts in sorted((_value(md, "tenants") or {}).items())]


def _parse_cursor(cursor: str | None) -> tuple[int | None, dict[tuple[str, str], int]]:
    """(last storage id read, held work): a plain integer is the cursor of an older version."""
    if not cursor:
        return None, {}
    if cursor.isdigit():
        return int(cursor), {}
    data = json.loads(cursor)
    return data.get("after"), {(t, d): sid for t, d, sid in data.get("held", [])}


def tenant_fanout_sensor(
    *,
    name: str,
    upstream: dg.AssetKey,
    downstream: dg.AssetsDefinition,
    had_work: Callable[[dict], bool],
    description: str,
    batch_tenants: bool = False,
) -> dg.SensorDefinition:
    """A sensor requesting one *downstream* run per (tenant, day) whose *upstream* materialization
    *had_work*; with *batch_tenants*, one run per day for all of that day's tenants (config
    ``tenant_ids``), for a downstream whose start-up is paid per run (the ASR worker, issue 21)."""
    downstream_key = downstream.key

    @dg.sensor(
        name=name,
        asset_selection=[downstream],
        minimum_interval_seconds=interval_s(30),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _sensor(
        context: dg.SensorEvaluationContext, tenant_registry: TenantRegistryResource
    ) -> dg.SensorResult | dg.SkipReason:
        after, held = _parse_cursor(context.cursor)
        result = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=upstream, after_storage_id=after), limit=MAX_EVENTS_PER_TICK, ascending=True
        )
        wanted: dict[tuple[str, str], int] = dict(held)
        for record in result.records:
            mat = record.asset_materialization
            for tenant, md in tenant_days(mat):
                if tenant != "unrouted" and mat.partition and had_work(md):
                    wanted[(tenant, mat.partition)] = record.storage_id
        if result.records:
            after = result.records[-1].storage_id
        # P12: a suspended tenant's work is held in the cursor, not launched and not dropped;
        # it goes out at the first tick after the tenant is resumed.
        registry = tenant_registry.get()
        active = {t for t, _ in wanted if (tenant := registry.get(t)) is not None and tenant.active}
        launch = {k: v for k, v in wanted.items() if k[0] in active}
        held = {k: v for k, v in wanted.items() if k[0] not in active and registry.get(k[0]) is not None}
        cursor = json.dumps({"after": after, "held": sorted([t, d, sid] for (t, d), sid in held.items())})
        if not launch:
            why = (
                f"{len(held)} tenant-day(s) held for suspended tenants"
                if held
                else f"no new {upstream.path[-1]} materializations with work"
            )
            return dg.SensorResult(skip_reason=dg.SkipReason(why), cursor=cursor)
        if batch_tenants:
            return dg.SensorResult(run_requests=_day_requests(name, downstream_key, launch), cursor=cursor)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    # one run per upstream event: a later batch of the same day gets its own run
                    run_key=f"{name}:{tenant}:{day}:{storage_id}",
                    partition_key=day,
                    run_config={"ops": {downstream_key.to_python_identifier(): {"config": {"tenant_id": tenant}}}},
                    tags={TENANT_TAG: tenant},
                )
                for (tenant, day), storage_id in sorted(launch.items())
            ],
            cursor=cursor,
        )

    return _sensor


def _day_requests(name: str, downstream_key: dg.AssetKey, launch: dict[tuple[str, str], int]) -> list[dg.RunRequest]:
    """One run per day over the tenants with work that day. The run key names the upstream events it
    answers (a digest: a day of many tenants would make a long key), so a re-evaluation never asks
    twice; one tenant alone keeps its tenant tag (alert routing); several get a count."""
    import hashlib

    by_day: dict[str, list[tuple[str, int]]] = {}
    for (tenant, day), storage_id in sorted(launch.items()):
        by_day.setdefault(day, []).append((tenant, storage_id))
    out = []
    for day, pairs in sorted(by_day.items()):
        tenants = [t for t, _ in pairs]
        digest = hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]
        config = {"tenant_id": tenants[0]} if len(tenants) == 1 else {"tenant_ids": tenants}
        out.append(
            dg.RunRequest(
                run_key=f"{name}:{day}:{digest}",
                partition_key=day,
                run_config={"ops": {downstream_key.to_python_identifier(): {"config": config}}},
                tags={TENANT_TAG: tenants[0]} if len(tenants) == 1 else {"ccr/tenant_count": str(len(tenants))},
            )
        )
    return out


def metadata_count(md: dict, *keys: str) -> int:
    return sum(int(_value(md, k, 0) or 0) for k in keys)
