"""Report schedules: hourly ticks in UTC, each asking which tenants are due in their own timezone.

A Dagster schedule has one timezone; tenants have many. Ticking hourly and
letting ``core.report_periods.due_periods`` compare local wall-clock times
gives every tenant its Monday 06:00 (or its own setting) across DST changes.
Suspended and terminated tenants get no report (P12). The run key names the
tenant and period, so a re-evaluated tick never launches a report twice,
while a manual re-run of the partition overwrites the same period.
"""

import dagster as dg

from ...core.catalog import TENANT_TAG
from ...core.report_periods import PERIOD_KINDS, due_periods
from ...resources import TenantRegistryResource
from .assets import report_key, tenant_monthly_reports, tenant_weekly_reports
from .partitions import PARTITIONS

REPORT_JOBS = {
    kind: dg.define_asset_job(
        f"tenant_{kind}_reports_job",
        selection=[asset],
        partitions_def=PARTITIONS[kind],
        description=f"One tenant's {kind} report (tenant in run config).",
    )
    for kind, asset in (("weekly", tenant_weekly_reports), ("monthly", tenant_monthly_reports))
}
tenant_weekly_reports_job, tenant_monthly_reports_job = REPORT_JOBS["weekly"], REPORT_JOBS["monthly"]


def report_run_requests(kind: str, registry, at) -> list[dg.RunRequest]:
    op = report_key(kind).to_python_identifier()
    requests = []
    for tenant in sorted(registry, key=lambda t: t.id):
        if not tenant.active:
            continue
        s = tenant.report_schedule
        for period in due_periods(
            timezone_name=tenant.timezone, weekly=s.weekly, monthly=s.monthly, weekday=s.weekday, hour=s.hour, at=at
        ):
            if period.kind != kind:
                continue
            requests.append(
                dg.RunRequest(
                    run_key=f"{kind}-report:{tenant.id}:{period.key}",
                    partition_key=period.partition_key,
                    run_config={"ops": {op: {"config": {"tenant_id": tenant.id}}}},
                    tags={TENANT_TAG: tenant.id, "ccr/period": period.key},
                )
            )
    return requests


def _report_schedule(kind: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"tenant_{kind}_reports_schedule",
        cron_schedule="0 * * * *",
        execution_timezone="UTC",
        job=REPORT_JOBS[kind],
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Hourly: launches the {kind} report of every active tenant whose local due time "
        "(report_schedule: weekday/hour, Europe/Paris Monday 06:00 by default) just passed.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext, tenant_registry: TenantRegistryResource):
        requests = report_run_requests(kind, tenant_registry.get(), context.scheduled_execution_time)
        if not requests:
            return dg.SkipReason(f"no active tenant has its {kind} report due at this hour")
        return requests

    return _schedule


tenant_weekly_reports_schedule, tenant_monthly_reports_schedule = (_report_schedule(k) for k in PERIOD_KINDS)
