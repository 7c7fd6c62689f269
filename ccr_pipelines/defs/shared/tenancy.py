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
