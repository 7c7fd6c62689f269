"""Run-config tenant checks shared by every per-tenant asset (P4, P12)."""

import dagster as dg
from pydantic import Field

from ...core.errors import TenantError
from ...core.keys import TENANT_ID_RE
from ...core.tenants import Tenant


def require_active_tenant(registry, tenant_id: str) -> Tenant:
    """The active tenant named in run config, or a run failure with a one-line reason."""
    if not TENANT_ID_RE.match(tenant_id or ""):
        raise dg.Failure("config tenant_id is not a valid tenant id")
    try:
        return registry.get().require(tenant_id)
    except TenantError as exc:
        raise dg.Failure(str(exc)) from None


class TenantDayConfig(dg.Config):
    """Run config of every per-tenant-day asset: the day is the partition, the tenant is here."""

    tenant_id: str = Field(description="tenant whose day is processed")


def run_actor(context) -> str:
    """P3, P20: who this run acts for, from its tags: the user who launched it (``dagster/user``,
    set by an authenticating deployment), else its schedule, sensor or backfill, else the run
    itself marked unattributed. Recorded in the access log and audit trail instead of a fixed string."""
    from ...core.access import actor_from_run

    run = context.run
    return actor_from_run(run.tags, job_name=run.job_name, run_id=run.run_id)
