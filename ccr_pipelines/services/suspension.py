"""The containment switch (P12): suspend or resume one tenant's processing, audited (P20).

Incident Response Policy §6: isolate, limit access, suspend services, restore.
The registry file says which tenants exist and how they are configured; this
switch, in the control store, lets on-call stop one tenant's processing in
seconds without a deploy. While a tenant is suspended, every sensor and
schedule holds its work (nothing is launched, nothing is dropped), runs refuse
it, and new uploads are quarantined with reason ``suspended_tenant``.
Resuming lets the held work go; quarantined files are re-run by ingestion's
rebuild config.
"""

from __future__ import annotations

from ..core.errors import InvalidRequest
from ..core.tenants import TenantRegistry
from ..stores import suspensions
from ..stores.control_store import ControlStore


def switch(
    control: ControlStore,
    registry: TenantRegistry,
    tenant_id: str,
    *,
    suspended: bool,
    actor: str,
    reason: str,
    incident_id: int | None = None,
) -> None:
    registry.require(tenant_id, active=False)  # a known tenant, whatever its state
    if not reason.strip():
        raise InvalidRequest("a suspension or resumption needs a reason")
    suspensions.record(
        control, tenant_id, suspended=suspended, reason=reason[:300], actor=actor, incident_id=incident_id
    )
    control.audit(
        actor=actor,
        entity="tenant_config",
        entity_id=tenant_id,
        change={"field": "suspended", "to": suspended, "reason": reason[:300], "incident_id": incident_id},
    )


def current(control: ControlStore) -> dict[str, bool]:
    """Tenant id -> suspended, from each tenant's latest switch row."""
    return suspensions.current(control)
