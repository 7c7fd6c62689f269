"""Retention purge (P19) and data-subject request jobs (P16-P18): thin wiring over
``services/retention.py`` and ``services/dsr.py``.

Run config names a request by its id only: the subject's identifiers are given to ``ccr dsr``,
hashed there, and never reach Dagster's run storage or event log (which cannot be erased per
subject). Ops report counts, never keys, call ids or values.
"""

from datetime import UTC, date, datetime

import dagster as dg
from pydantic import Field

from ...core.incidents import Signal
from ...platform import purge_env
from ...resources import (
    AlertingResource,
    ControlStoreResource,
    IngestConfigResource,
    ObjectStoreResource,
    TenantRegistryResource,
    WarehouseResource,
)
from ...services import dsr as dsr_service
from ...services.alerting import handle_signal
from ...services.retention import run_purge
from ..shared import run_storage
from ..shared.tenancy import run_actor

OWNERS = ["team:data-platform"]


class PurgeConfig(dg.Config):
    dry_run: bool = Field(default=False, description="only record what would be deleted (purge_log dry_run rows)")
    today: str = Field(default="", description="YYYY-MM-DD to purge as of; empty = today (UTC)")


@dg.op(tags={"kind": "retention"})
def retention_purge(
    context: dg.OpExecutionContext,
    config: PurgeConfig,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    alerting: AlertingResource,
) -> dict:
    """P19: delete what is past each tenant's retention (every object version), offboard terminated tenants."""
    today = date.fromisoformat(config.today) if config.today else datetime.now(UTC).date()
    registry = tenant_registry.get()
    env = purge_env(
        object_store.get(),
        control_store.get(),
        registry,
        today=today,
        run_id=context.run_id,
        backup_keep_days=object_store.backup_keep_days,
    )  # P6, P17, P19
    try:
        summary = run_purge(env, dry_run=config.dry_run)
    except Exception:
        handle_signal(
            env.control,
            Signal("purge_failed", "retention_purge_job", run_ids=(context.run_id,)),
            settings=alerting.settings(),
            registry=registry,
        )
        raise
    context.add_output_metadata({k: summary[k] for k in ("dry_run", "items", "objects", "rows", "marts_rebuilt")})
    return {k: summary[k] for k in ("dry_run", "items", "objects", "rows")}


@dg.job(
    description="P19: the daily retention purge (dry_run in config records what would go).",
    tags={"ccr/kind": "retention"},
)
def retention_purge_job():
    retention_purge()


retention_purge_schedule = dg.ScheduleDefinition(
    name="retention_purge_schedule",
    job=retention_purge_job,
    cron_schedule="30 2 * * *",
    execution_timezone="Europe/Paris",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 02:30 Paris time (after the night's ingestion, before the Monday reports).",
)


class DsrConfig(dg.Config):
    request_id: int = Field(description="a request registered by `ccr dsr …` (dsr_requests.id); no identifier here")


class RestrictionConfig(DsrConfig):
    lift: bool = Field(default=False, description="lift the restriction instead of applying it")


def _env(context, object_store, warehouse, control_store, tenant_registry, ingest_config) -> dsr_service.DsrEnv:
    """The one erasure environment (services/dsr.erasure_env), with this run's Dagster instance."""
    return dsr_service.erasure_env(
        object_store.get(),
        control_store.get(),
        tenant_registry.get(),
        ingest_config.subject_hash_key,
        actor=run_actor(context),
        run_id=context.run_id,
        region=object_store.region_label,
        run_storage=run_storage.of_running_job(context.instance),
        backup_keep_days=object_store.backup_keep_days,
    )


@dg.op
def dsr_export(
    context: dg.OpExecutionContext,
    config: DsrConfig,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    ingest_config: IngestConfigResource,
) -> None:
    """P16 (access, portability): the subject's bundle under exports/{tenant}/dsr-{id}/."""
    bundle = dsr_service.export(
        _env(context, object_store, warehouse, control_store, tenant_registry, ingest_config), config.request_id
    )
    context.add_output_metadata({"calls": len(bundle["calls"]), "reports": len(bundle["reports"])})


@dg.op
def dsr_erasure(
    context: dg.OpExecutionContext,
    config: DsrConfig,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    ingest_config: IngestConfigResource,
    alerting: AlertingResource,
) -> None:
    """P17: erase the subject everywhere, regenerate reports, rebuild marts, verify, write the receipt."""
    env = _env(context, object_store, warehouse, control_store, tenant_registry, ingest_config)
    env.alert_settings = alerting.settings()  # a failed verification is a breach (R2)
    proof = dsr_service.erase(env, config.request_id)
    context.add_output_metadata(
        {"calls": proof["calls"], "locations": len(proof["deleted"]), "verification_passed": proof["scan"]["passed"]}
    )
    if not proof["scan"]["passed"]:
        raise dg.Failure(
            f"erasure verification found {len(proof['scan']['findings'])} remaining occurrence(s) "
            f"(request {config.request_id}; incident R2 opened)"
        )


@dg.op
def dsr_restriction(
    context: dg.OpExecutionContext,
    config: RestrictionConfig,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    ingest_config: IngestConfigResource,
) -> None:
    """P16: the subject's calls are kept but excluded from reports until lifted."""
    proof = dsr_service.restrict(
        _env(context, object_store, warehouse, control_store, tenant_registry, ingest_config),
        config.request_id,
        lift=config.lift,
    )
    context.add_output_metadata({"identifiers": proof["identifiers"], "calls": proof["calls"]})


@dg.op
def dsr_suppression(
    context: dg.OpExecutionContext,
    config: DsrConfig,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    ingest_config: IngestConfigResource,
) -> None:
    """P18: the subject's keyed hashes on the suppression list; future imports are blocked."""
    out = dsr_service.suppress(
        _env(context, object_store, warehouse, control_store, tenant_registry, ingest_config), config.request_id
    )
    context.add_output_metadata({"added": out["added"]})


@dg.op
def dsr_deadlines(
    context: dg.OpExecutionContext,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    alerting: AlertingResource,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
    ingest_config: IngestConfigResource,
) -> None:
    """GDPR art. 12(3): requests past their deadline raise an R12 incident."""
    env = _env(context, object_store, warehouse, control_store, tenant_registry, ingest_config)
    late = dsr_service.check_overdue(env, alert_settings=alerting.settings())
    context.add_output_metadata({"overdue": len(late)})


@dg.job(description="P16: export a data subject's data (request id in config).", tags={"ccr/kind": "dsr"})
def dsr_export_job():
    dsr_export()


@dg.job(description="P17: erase a data subject everywhere and verify (request id in config).", tags={"ccr/kind": "dsr"})
def dsr_erasure_job():
    dsr_erasure()


@dg.job(description="P16: restrict (or lift) processing of a data subject's calls.", tags={"ccr/kind": "dsr"})
def dsr_restriction_job():
    dsr_restriction()


@dg.job(description="P18: put a data subject on the tenant's suppression list.", tags={"ccr/kind": "dsr"})
def dsr_suppression_job():
    dsr_suppression()


@dg.job(description="P16: raise an incident for every overdue data-subject request.", tags={"ccr/kind": "dsr"})
def dsr_deadline_job():
    dsr_deadlines()


dsr_deadline_schedule = dg.ScheduleDefinition(
    name="dsr_deadline_schedule",
    job=dsr_deadline_job,
    cron_schedule="0 8 * * *",
    execution_timezone="Europe/Paris",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 08:00 Paris time: overdue data-subject requests become R12 incidents.",
)
