"""Reports on request: a tenant's new scores refresh the report of the period they fall in.

The schedules (``schedules.py``) deliver each period's report when it is due; between two due
dates this sensor keeps the open period's report current (and a late upload's period too): for
each (tenant, day) whose scores changed, the weekly and monthly reports of the periods holding
that day are requested, once per tick and period. Suspended tenants' work is held (P12), as in
the other fan-out sensors.
"""

import json
from datetime import date

import dagster as dg

from ...core.report_periods import PERIOD_KINDS, period_containing
from ...resources import TenantRegistryResource
from ..analyze.assets import CALL_SCORES_KEY
from ..shared.fanout import TENANT_TAG, metadata_count, tenant_days
from ..shared.intervals import interval_s
from .assets import report_key, tenant_monthly_reports, tenant_weekly_reports

MAX_EVENTS_PER_TICK = 500


def report_requests(wanted: dict[tuple[str, str], int]) -> list[dg.RunRequest]:
    """One run per (kind, tenant, period) covering the scored days in *wanted* ((tenant, day) -> storage id)."""
    periods: dict[tuple[str, str, str], tuple] = {}
    for (tenant, day), sid in wanted.items():
        for kind in PERIOD_KINDS:
            period = period_containing(kind, date.fromisoformat(day))
            k = (kind, tenant, period.key)
            if k not in periods or periods[k][1] < sid:
                periods[k] = (period, sid)
    requests = []
    for (kind, tenant, _), (period, sid) in sorted(periods.items()):
        key = report_key(kind)
        requests.append(
            dg.RunRequest(
                run_key=f"{kind}-report-on-scores:{tenant}:{period.key}:{sid}",
                partition_key=period.partition_key,
                asset_selection=[key],
                run_config={"ops": {key.to_python_identifier(): {"config": {"tenant_id": tenant}}}},
                tags={TENANT_TAG: tenant, "ccr/period": period.key, "ccr/reason": "new_scores"},
            )
        )
    return requests


@dg.sensor(
    asset_selection=[tenant_weekly_reports, tenant_monthly_reports],
    minimum_interval_seconds=interval_s(60),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="For each tenant-day with new scores, refreshes that tenant's weekly and monthly report "
    "of the period holding the day (the schedules deliver each period when due).",
)
def scores_to_reports_sensor(
    context: dg.SensorEvaluationContext, tenant_registry: TenantRegistryResource
) -> dg.SensorResult | dg.SkipReason:
    data = json.loads(context.cursor) if context.cursor else {}
    after, held = data.get("after"), {(t, d): sid for t, d, sid in data.get("held", [])}
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=CALL_SCORES_KEY, after_storage_id=after),
        limit=MAX_EVENTS_PER_TICK,
        ascending=True,
    )
    wanted = dict(held)
    for record in result.records:
        mat = record.asset_materialization
        for tenant, md in tenant_days(mat):
            if mat.partition and metadata_count(md, "calls") > 0:
                wanted[(tenant, mat.partition)] = record.storage_id
    if result.records:
        after = result.records[-1].storage_id
    registry = tenant_registry.get()
    launch = {k: v for k, v in wanted.items() if (t := registry.get(k[0])) is not None and t.active}
    held = {k: v for k, v in wanted.items() if k not in launch and registry.get(k[0]) is not None}
    cursor = json.dumps({"after": after, "held": sorted([t, d, sid] for (t, d), sid in held.items())})
    if not launch:
        return dg.SensorResult(
            skip_reason=dg.SkipReason("no new scores" + (f"; {len(held)} tenant-day(s) held" if held else "")),
            cursor=cursor,
        )
    return dg.SensorResult(run_requests=report_requests(launch), cursor=cursor)
