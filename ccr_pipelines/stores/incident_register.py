"""The incident register (P10-P13, P22): ``incidents``, their append-only timeline, alert deliveries
and breach notification drafts. The queries and writes services need; the rules stay in services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .control_store import ControlStore, alert_deliveries, incident_notifications, incident_timeline, incidents, utcnow


def list_incidents(control: ControlStore, *, limit: int, include_resolved: bool = False) -> list[dict]:
    """The newest incidents first, at most *limit*; open ones only unless *include_resolved*."""
    q = sa.select(incidents).order_by(incidents.c.id.desc()).limit(limit)
    if not include_resolved:
        q = q.where(incidents.c.status != "resolved")
    return control.fetch(q)


def open_breaches(control: ControlStore) -> list[dict]:
    """Breach incidents not resolved yet."""
    return control.fetch(sa.select(incidents).where(incidents.c.is_breach.is_(True), incidents.c.status != "resolved"))


def timeline_events(control: ControlStore, event: str) -> list[dict]:
    """``incident_id`` and ``detail`` of every timeline row of *event*."""
    return control.fetch(
        sa.select(incident_timeline.c.incident_id, incident_timeline.c.detail).where(incident_timeline.c.event == event)
    )


def record_delivery(
    control: ControlStore,
    *,
    incident_id: int,
    channel: str,
    dedup_key: str,
    attempt: int,
    status: str,
    http_status: int | None,
    at: datetime | None = None,
) -> None:
    """P22: one row per delivery attempt (pager, ticket, Sentry), sent or not."""
    control.insert(
        alert_deliveries,
        dict(
            incident_id=incident_id,
            channel=channel,
            dedup_key=dedup_key,
            attempt=attempt,
            status=status,
            http_status=http_status,
            at=at or utcnow(),
        ),
    )


def add_notification(
    control: ControlStore, *, incident_id: int, tenant_id: str, language: str, body: str, created_at: datetime
) -> None:
    """P10, P14: one tenant's breach notification draft."""
    control.insert(
        incident_notifications,
        dict(incident_id=incident_id, tenant_id=tenant_id, language=language, body=body, created_at=created_at),
    )


class Changes:
    """One transaction over the register: an incident's row and its timeline."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn

    def timeline(self, incident_id: int, event: str, detail: dict | None = None, *, at: datetime, actor: str) -> None:
        self.conn.execute(
            incident_timeline.insert().values(
                incident_id=incident_id, at=at, event=event, actor=actor, detail=detail or {}
            )
        )

    def open_with_signal(self, signal_key: str) -> list[Any]:
        """``id``, ``tenants``, ``counts`` of the open incidents of one signal key."""
        return self.conn.execute(
            sa.select(incidents.c.id, incidents.c.tenants, incidents.c.counts).where(
                incidents.c.signal == signal_key, incidents.c.status != "resolved"
            )
        ).all()

    def get(self, incident_id: int) -> Any | None:
        """``tenants`` and ``status`` of one incident, or None."""
        return self.conn.execute(
            sa.select(incidents.c.tenants, incidents.c.status).where(incidents.c.id == incident_id)
        ).first()

    def insert(self, **values: Any) -> int:
        return self.conn.execute(incidents.insert().values(**values).returning(incidents.c.id)).scalar_one()

    def update(self, incident_id: int, **values: Any) -> None:
        self.conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**values))


@contextmanager
def changes(control: ControlStore) -> Iterator[Changes]:
    with control.engine.begin() as conn:
        yield Changes(conn)
