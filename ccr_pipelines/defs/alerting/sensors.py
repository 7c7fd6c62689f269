"""Alerting sensors (P7, P11, P22): failed runs and failed asset checks become incidents.

A failed asset check does not fail its run (only a blocking one stops what is
downstream), so a run-failure sensor alone would miss it: the check sensor
reads ``ASSET_CHECK_EVALUATION`` events from the event log with a storage-id
cursor. Both run every 30 s, which keeps check-failure-to-page under a minute.
Only ids, names and counts go from Dagster to the incident register.
"""

from datetime import timedelta

import dagster as dg

from ...core.incidents import Signal
from ...resources import AlertingResource, ControlStoreResource, TenantRegistryResource
from ...services.alerting import escalate_breaches, handle_signal
from ..ingest.assets import ISOLATION_CHECK
from ..quality.checks import FRESHNESS_CHECK
from ..reports.assets import REPORT_ISOLATION_CHECK

TENANT_TAG = "ccr/tenant"
INTERVAL_S = 30  # check failure -> page in < 60 s: one interval plus the delivery
MAX_EVENTS_PER_TICK = 200
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


@dg.sensor(minimum_interval_seconds=INTERVAL_S, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Failed asset checks (ERROR and WARN) -> incidents by severity, pages and tickets; "
                       "also escalates open breaches whose 72 h deadline is near (P10).")
def asset_check_failure_sensor(context: dg.SensorEvaluationContext, control_store: ControlStoreResource,
                               tenant_registry: TenantRegistryResource, alerting: AlertingResource):
    after = int(context.cursor) if context.cursor else None
    records = context.instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after),
        limit=MAX_EVENTS_PER_TICK, ascending=True)
    control, registry, settings = control_store.get(), tenant_registry.get(), alerting.settings()
    escalated = escalate_breaches(control, settings=settings, registry=registry)
    if not records:
        return dg.SkipReason(f"no new asset check evaluations; {len(escalated)} breach escalation(s)")
    opened = 0
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        severity = "WARN" if evaluation.severity == dg.AssetCheckSeverity.WARN else "ERROR"
        subject = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        tenants = _tenants_of(context.instance, record.run_id, evaluation.metadata)
        late = evaluation.metadata.get("max_days_late")
        if evaluation.check_name in ISOLATION_CHECKS:
            signal = Signal("isolation_breach", subject, tenants, run_ids=(record.run_id,))
        elif evaluation.check_name == FRESHNESS_CHECK:
            signal = Signal("freshness_miss", subject, tenants, run_ids=(record.run_id,),
                            late_by=timedelta(days=int(getattr(late, "value", 0) or 0)))
        else:
            signal = Signal("check_failed", subject, tenants, check_severity=severity, run_ids=(record.run_id,))
        out = handle_signal(control, signal, settings=settings, registry=registry)
        opened += out["created"]
        context.log.info(f"check {subject} failed: incident {out['incident_id']} ({out['severity']}, {out['rule']})")
    context.update_cursor(str(records[-1].storage_id))
    return dg.SkipReason(f"{len(records)} evaluation(s) read, {opened} incident(s) opened")


def _root_cause(error) -> str:
    """The user's exception message, not Dagster's 'error occurred while executing op' wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()


@dg.run_failure_sensor(minimum_interval_seconds=INTERVAL_S, default_status=dg.DefaultSensorStatus.RUNNING,
                       monitor_all_code_locations=True,
                       description="Failed runs -> incidents (rules R7/R8) and a scrubbed Sentry event.")
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, control_store: ControlStoreResource,
                             tenant_registry: TenantRegistryResource, alerting: AlertingResource):
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
    out = handle_signal(control_store.get(), Signal(kind="run_failed", subject=run.job_name,
                                                    tenants=(tenant,) if tenant else (),
                                                    consecutive_failures=max(streak, 1), run_ids=(run.run_id,)),
                        settings=settings, registry=tenant_registry.get())
    if settings.sentry_enabled:
        import sentry_sdk

        # the step errors may quote data (an exception message with a phone number…): the
        # before_send scrubber removes personal data before anything leaves the process
        errors = [f"{e.step_key}: {_root_cause(e.event_specific_data.error)}"
                  for e in context.get_step_failure_events() if e.event_specific_data.error]
        sentry_sdk.capture_message(f"run {run.run_id} of {run.job_name} failed: " + (" | ".join(errors) or
                                   context.failure_event.message or ""), level="error")
    context.log.info(f"run {run.run_id} failed: incident {out['incident_id']} ({out['severity']}, {out['rule']})")


ACCESS_WINDOW_S = 3600  # the window in which one actor touching many tenants is unusual (rule R3)


@dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Access log of the last hour: one actor reading, exporting or linking the data of "
                       "3 or more tenants opens a critical incident (possible compromise, rule R3; P3).")
def unusual_access_sensor(context: dg.SensorEvaluationContext, control_store: ControlStoreResource,
                          tenant_registry: TenantRegistryResource, alerting: AlertingResource):
    from ...core.incidents import unusual_access_actors
    from ...stores.control_store import access_log, utcnow

    import sqlalchemy as sa

    control = control_store.get()
    since = utcnow() - timedelta(seconds=ACCESS_WINDOW_S)
    rows = control.fetch(sa.select(access_log.c.actor, access_log.c.tenant_id, access_log.c.action)
                         .where(access_log.c.at >= since).distinct())
    flagged = unusual_access_actors(rows)
    if not flagged:
        return dg.SkipReason(f"no actor touched several tenants in the last {ACCESS_WINDOW_S // 60} min")
    settings, registry = alerting.settings(), tenant_registry.get()
    for actor, tenants in flagged.items():
        out = handle_signal(control, Signal("unusual_access", f"actor:{actor}", tenants), settings=settings,
                            registry=registry)
        context.log.info(f"unusual access by one actor over {len(tenants)} tenants: incident {out['incident_id']}")
    return dg.SkipReason(f"{len(flagged)} actor(s) flagged")
