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
    """Run config of every per-tenant-day asset: the day is the partition, the tenant is here.

    Without a tenant (a Dagster backfill over the day partitions, launched with no config) the run
    processes the day for every active tenant, or for ``tenant_ids`` when given (docs/partitioning.md)."""

    tenant_id: str = Field(
        default="", description="tenant whose day is processed; empty = every active tenant (or tenant_ids): a backfill"
    )
    tenant_ids: list[str] = Field(
        default_factory=list, description="with no tenant_id: the tenants to process (empty = every active tenant)"
    )


def run_tenants(registry, tenant_id: str = "", tenant_ids: list[str] | tuple = ()) -> list[Tenant]:
    """The tenants a per-tenant-day run processes: the one in config; else the ones listed; else every
    active tenant (suspended or terminated tenants are skipped, P12). A named tenant that is not
    active fails the run with a one-line reason (P4, P12)."""
    if tenant_id:
        return [require_active_tenant(registry, tenant_id)]
    if tenant_ids:
        return [require_active_tenant(registry, t) for t in dict.fromkeys(tenant_ids)]
    return [t for t in sorted(registry.get(), key=lambda t: t.id) if t.active]


def fold_metadata(per_tenant: dict[str, dict]) -> dict:
    """A run's materialization metadata. One tenant: its own metadata with ``tenant_id`` (what the
    fan-out sensors read). Several (a backfill run): counts summed, and each tenant's counts under
    ``tenants`` (JSON, ids and numbers only), which the fan-out sensors read per tenant."""
    if len(per_tenant) == 1:
        ((tenant, md),) = per_tenant.items()
        return {**md, "tenant_id": tenant}
    total: dict = {}
    for md in per_tenant.values():
        for k, v in md.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                total[k] = total.get(k, 0) + v
    plain = {t: {k: v for k, v in md.items() if isinstance(v, (int, float, str, bool))} for t, md in per_tenant.items()}
    return {**total, "tenants": dg.MetadataValue.json(plain), "tenant_count": len(per_tenant)}


def run_actor(context) -> str:
    """P3, P20: who this run acts for, from its tags: the user who launched it (``dagster/user``,
    set by an authenticating deployment), else its schedule, sensor or backfill, else the run
    itself marked unattributed. Recorded in the access log and audit trail instead of a fixed string."""
    from ...core.access import actor_from_run

    run = context.run
    return actor_from_run(run.tags, job_name=run.job_name, run_id=run.run_id)
