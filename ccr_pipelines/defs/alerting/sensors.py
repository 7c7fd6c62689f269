"""Alerting sensors (P7, P11, P22): failed runs and failed asset checks become incidents.

A failed asset check does not fail its run (only a blocking one stops what is
downstream), so a run-failure sensor alone would miss it: the check sensor
reads the instance's check-execution index (``new_check_failures``), which works on
Dagster's default SQLite instance (run-sharded event log) as on dagster-postgres. Both run every 30 s, which keeps check-failure-to-page under a minute.
Only ids, names and counts go from Dagster to the incident register.
"""

import json
from datetime import timedelta

import dagster as dg

from ...core.catalog import TENANT_TAG
from ...core.incidents import Signal
from ...resources import AlertingResource, ControlStoreResource, TenantRegistryResource
from ...services.alerting import escalate_breaches, handle_signal
from ..ingest.assets import ISOLATION_CHECK
from ..quality.checks import FRESHNESS_CHECK
from ..reports.assets import REPORT_ISOLATION_CHECK
from ..shared.intervals import interval_s

INTERVAL_S = 30  # check failure -> page in < 60 s: one interval plus the delivery
PAGE = 200  # check executions read per query
# Checks whose failure means one tenant's data reached another's output: a breach (rule R1).
ISOLATION_CHECKS = frozenset({ISOLATION_CHECK, REPORT_ISOLATION_CHECK})


def _tenants_of(instance: dg.DagsterInstance, run_id: str, metadata: dict) -> tuple[str, ...]:
    listed = metadata.get("failed_tenants")
    if listed is not None and getattr(listed, "value", None):
        return tuple(sorted(str(t) for t in listed.value))
    tenant = metadata.get("tenant_id")
    if tenant is not None and getattr(tenant, "value", None):
        return (str(tenant.value),)
    run = instance.get_run_by_id(run_id)
    t = run.tags.get(TENANT_TAG) if run else None
    return (t,) if t else ()


def _parse_check_cursor(cursor: str | None) -> tuple[int | None, set[int]]:
    """(floor, handled ids above it). A plain integer is an older cursor (an event storage id, which
    does not compare with execution ids): start from the newest execution instead of replaying."""
    if not cursor:
        return None, set()
    if cursor.lstrip("-").isdigit():
        return -1, set()  # resolved to the newest execution id by the first read
    data = json.loads(cursor)
    return data.get("floor"), set(data.get("done", []))


def new_check_failures(instance: dg.DagsterInstance, check_keys, cursor: str | None) -> tuple[list, str, int]:
    """Failed check executions not yet handled, oldest first, the next cursor and how many
    executions were read.

    Reads the instance's asset-check execution index (``asset_check_executions``), which every
    event log storage keeps in one table: Dagster's default SQLite instance (run-sharded, where
    a cross-run ``get_event_records`` with a storage-id cursor is refused) and dagster-postgres
    alike. An execution's row is created when the check is *planned* and updated when it is
    evaluated, so row ids are in planning order: the cursor is a floor below which every
    execution is settled (evaluated, or its run ended) plus the failures above it already
    handled, and a long run's late failure is still read."""
    floor, done = _parse_check_cursor(cursor)
    legacy = floor == -1
    storage = instance.event_log_storage
    rows = []
    for key in check_keys:
        before = None
        while True:
            page = storage.get_asset_check_execution_history(key, limit=PAGE, cursor=before)
            fresh = [r for r in page if floor is None or legacy or r.id > floor]
            rows += fresh
            if legacy or len(page) < PAGE or len(fresh) < len(page):
                break
            before = page[-1].id
    if legacy:  # older cursor: everything up to now counts as handled
        newest = max((r.id for r in rows), default=0)
        return [], json.dumps({"floor": newest, "done": []}), 0
    finished: dict[str, bool] = {}

    def run_finished(run_id: str) -> bool:
        if not run_id:
            return True  # a runless evaluation is final when stored
        if run_id not in finished:
            run = instance.get_run_by_id(run_id)
            finished[run_id] = run is None or run.is_finished
        return finished[run_id]

    failures = sorted(
        (r for r in rows if r.status.value == "FAILED" and r.id not in done and r.event is not None), key=lambda r: r.id
    )
    pending = [r.id for r in rows if r.status.value == "PLANNED" and not run_finished(r.run_id)]
    if pending:
        new_floor = min(pending) - 1
    else:
        new_floor = max([r.id for r in rows] + ([floor] if floor is not None else []), default=0)
    handled = {i for i in done | {r.id for r in failures} if i > new_floor}
    return failures, json.dumps({"floor": new_floor, "done": sorted(handled)}), len(rows)


@dg.sensor(
    minimum_interval_seconds=interval_s(INTERVAL_S),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Failed asset checks (ERROR and WARN) -> incidents by severity, pages and tickets; "
    "also escalates open breaches whose 72 h deadline is near (P10).",
)
def asset_check_failure_sensor(
    context: dg.SensorEvaluationContext,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    alerting: AlertingResource,
):
    check_keys = sorted(context.repository_def.asset_graph.asset_check_keys, key=lambda k: k.to_user_string())
    failures, cursor, read = new_check_failures(context.instance, check_keys, context.cursor)
    control, registry, settings = control_store.get(), tenant_registry.get(), alerting.settings()
    escalated = escalate_breaches(control, settings=settings, registry=registry)
    opened = 0
    for record in failures:
        evaluation = record.event.dagster_event.event_specific_data
        severity = "WARN" if evaluation.severity == dg.AssetCheckSeverity.WARN else "ERROR"
        subject = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        tenants = _tenants_of(context.instance, record.run_id, evaluation.metadata)
        late = evaluation.metadata.get("max_days_late")
        run_ids = (record.run_id,) if record.run_id else ()
        if evaluation.check_name in ISOLATION_CHECKS:
            signal = Signal("isolation_breach", subject, tenants, run_ids=run_ids)
        elif evaluation.check_name == FRESHNESS_CHECK:
            signal = Signal(
                "freshness_miss",
                subject,
                tenants,
                run_ids=run_ids,
                late_by=timedelta(days=int(getattr(late, "value", 0) or 0)),
            )
        else:
            signal = Signal("check_failed", subject, tenants, check_severity=severity, run_ids=run_ids)
        out = handle_signal(control, signal, settings=settings, registry=registry)
        opened += out["created"]
        context.log.info(f"check {subject} failed: incident {out['incident_id']} ({out['severity']}, {out['rule']})")
    why = (
        f"{read} check execution(s) read, {len(failures)} failure(s), {opened} incident(s) opened"
        if failures
        else f"no new failed asset checks; {len(escalated)} breach escalation(s)"
    )
    context.update_cursor(cursor)
    return dg.SkipReason(why)


def _root_cause(error) -> str:
    """The user's exception message, not Dagster's 'error occurred while executing op' wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()


@dg.run_failure_sensor(
    minimum_interval_seconds=interval_s(INTERVAL_S),
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
    description="Failed runs -> incidents (rules R7/R8) and a scrubbed Sentry event.",
)
def run_failure_alert_sensor(
    context: dg.RunFailureSensorContext,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    alerting: AlertingResource,
):
    run = context.dagster_run
    tenant = run.tags.get(TENANT_TAG)
    # consecutive failures of this job for this tenant (newest first), to tell a blip from an outage
    filters = dg.RunsFilter(job_name=run.job_name, tags={TENANT_TAG: tenant} if tenant else None)
    recent = context.instance.get_runs(filters=filters, limit=5)
    streak = 0
    for r in recent:
        if r.status != dg.DagsterRunStatus.FAILURE:
            break
        streak += 1
    settings = alerting.settings()
    out = handle_signal(
        control_store.get(),
        Signal(
            kind="run_failed",
            subject=run.job_name,
            tenants=(tenant,) if tenant else (),
            consecutive_failures=max(streak, 1),
            run_ids=(run.run_id,),
        ),
        settings=settings,
        registry=tenant_registry.get(),
    )
    if settings.sentry_enabled:
        import sentry_sdk

        # the step errors may quote data (an exception message with a phone number…): the
        # before_send scrubber removes personal data before anything leaves the process
        errors = [
            f"{e.step_key}: {_root_cause(e.event_specific_data.error)}"
            for e in context.get_step_failure_events()
            if e.event_specific_data.error
        ]
        sentry_sdk.capture_message(
            f"run {run.run_id} of {run.job_name} failed: "
            + (" | ".join(errors) or context.failure_event.message or ""),
            level="error",
        )
    context.log.info(f"run {run.run_id} failed: incident {out['incident_id']} ({out['severity']}, {out['rule']})")


ACCESS_WINDOW_S = 3600  # the window in which one actor touching many tenants is unusual (rule R3)


@dg.sensor(
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Access log of the last hour: one actor reading, exporting or linking the data of "
    "3 or more tenants opens a critical incident (possible compromise, rule R3; P3).",
)
def unusual_access_sensor(
    context: dg.SensorEvaluationContext,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    alerting: AlertingResource,
):
    from ...services.alerting import unusual_access

    control = control_store.get()
    flagged = unusual_access(control, window=timedelta(seconds=ACCESS_WINDOW_S))
    if not flagged:
        return dg.SkipReason(f"no actor touched several tenants in the last {ACCESS_WINDOW_S // 60} min")
    settings, registry = alerting.settings(), tenant_registry.get()
    for actor, tenants in flagged.items():
        out = handle_signal(
            control, Signal("unusual_access", f"actor:{actor}", tenants), settings=settings, registry=registry
        )
        context.log.info(f"unusual access by one actor over {len(tenants)} tenants: incident {out['incident_id']}")
    return dg.SkipReason(f"{len(flagged)} actor(s) flagged")
