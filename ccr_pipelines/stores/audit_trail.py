"""Queries of the append-only audit trails (``audit_log``, P20; ``access_log``, P3) that services need,
so that no service, asset or command reads the tables themselves."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .control_store import ControlStore, access_log, audit_log


def last_change(control: ControlStore, entity: str) -> dict | None:
    """The latest ``audit_log`` row of *entity* (``entity_id``, ``change``), or None."""
    rows = control.fetch(
        sa.select(audit_log.c.entity_id, audit_log.c.change)
        .where(audit_log.c.entity == entity)
        .order_by(audit_log.c.id.desc())
        .limit(1)
    )
    return rows[0] if rows else None


def access_since(control: ControlStore, since: datetime) -> list[dict]:
    """Distinct (actor, tenant_id, action) of the access log from *since* on (rule R3's window)."""
    return control.fetch(
        sa.select(access_log.c.actor, access_log.c.tenant_id, access_log.c.action)
        .where(access_log.c.at >= since)
        .distinct()
    )
