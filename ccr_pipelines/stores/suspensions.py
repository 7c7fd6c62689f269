"""The containment switch's rows (P12, ``tenant_suspensions``, append-only): the latest row per tenant
is in force, the rows are the history."""

from __future__ import annotations

import sqlalchemy as sa

from .control_store import ControlStore, tenant_suspensions, utcnow


def record(
    control: ControlStore, tenant_id: str, *, suspended: bool, reason: str, actor: str, incident_id: int | None = None
) -> None:
    control.insert(
        tenant_suspensions,
        dict(
            tenant_id=tenant_id, suspended=suspended, reason=reason, actor=actor, incident_id=incident_id, at=utcnow()
        ),
    )


def current(control: ControlStore) -> dict[str, bool]:
    """Tenant id -> suspended, from each tenant's latest switch row."""
    latest = (
        sa.select(tenant_suspensions.c.tenant_id, sa.func.max(tenant_suspensions.c.id).label("id"))
        .group_by(tenant_suspensions.c.tenant_id)
        .subquery()
    )
    q = sa.select(tenant_suspensions.c.tenant_id, tenant_suspensions.c.suspended).join(
        latest, tenant_suspensions.c.id == latest.c.id
    )
    return {r["tenant_id"]: bool(r["suspended"]) for r in control.fetch(q)}
