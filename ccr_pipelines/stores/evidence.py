"""One tenant's records of a period, as the audit evidence pack reads them (P13, GDPR art. 30): the
queries over the control store's trails, read in one connection. Values come back JSON-ready (times as
ISO strings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from .control_store import (
    ControlStore,
    access_log,
    alert_deliveries,
    audit_log,
    dsr_requests,
    incident_notifications,
    incident_timeline,
    incidents,
    ingest_events,
    lineage,
    purge_log,
    review_queue,
    tenant_suspensions,
)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


class PeriodEvidence:
    """The records of *tenant_id* in [lo, hi)."""

    def __init__(self, conn: sa.Connection, tenant_id: str, lo: datetime, hi: datetime):
        self.conn, self.tenant_id, self.lo, self.hi = conn, tenant_id, lo, hi

    def _rows(self, q) -> list[dict]:
        return [{k: _jsonable(v) for k, v in r._mapping.items()} for r in self.conn.execute(q)]

    def _count(self, table, *where) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar() or 0)

    # -- the pack's sections ---------------------------------------------------
    def access_log(self) -> list[dict]:
        return self._rows(
            sa.select(access_log)
            .where(access_log.c.tenant_id == self.tenant_id, access_log.c.at >= self.lo, access_log.c.at < self.hi)
            .order_by(access_log.c.id)
        )

    def dsr_requests(self) -> list[dict]:
        """Requests received before the period's end and not completed before its start."""
        return self._rows(
            sa.select(dsr_requests)
            .where(
                dsr_requests.c.tenant_id == self.tenant_id,
                dsr_requests.c.requested_at < self.hi,
                sa.or_(dsr_requests.c.completed_at.is_(None), dsr_requests.c.completed_at >= self.lo),
            )
            .order_by(dsr_requests.c.id)
        )

    def purge_log(self) -> list[dict]:
        return self._rows(
            sa.select(purge_log)
            .where(purge_log.c.tenant_id == self.tenant_id, purge_log.c.at >= self.lo, purge_log.c.at < self.hi)
            .order_by(purge_log.c.id)
        )

    def incidents(self) -> list[dict]:
        """Every incident detected in the period (all tenants': the caller keeps the tenant's own)."""
        return self._rows(
            sa.select(incidents)
            .where(incidents.c.detected_at >= self.lo, incidents.c.detected_at < self.hi)
            .order_by(incidents.c.id)
        )

    def incident_timeline(self, incident_id: int) -> list[dict]:
        return self._rows(
            sa.select(
                incident_timeline.c.at, incident_timeline.c.event, incident_timeline.c.actor, incident_timeline.c.detail
            )
            .where(incident_timeline.c.incident_id == incident_id)
            .order_by(incident_timeline.c.id)
        )

    def notifications(self, incident_id: int) -> list[dict]:
        """The tenant's own breach notification drafts of one incident."""
        return self._rows(
            sa.select(
                incident_notifications.c.language,
                incident_notifications.c.body,
                incident_notifications.c.created_at,
                incident_notifications.c.sent_at,
            ).where(
                incident_notifications.c.incident_id == incident_id,
                incident_notifications.c.tenant_id == self.tenant_id,
            )
        )

    def audit_log(self) -> list[dict]:
        """Audit rows naming the tenant, then its suspension switches (``entity`` tenant_suspension)."""
        t = self.tenant_id
        return self._rows(
            sa.select(audit_log)
            .where(
                audit_log.c.at >= self.lo,
                audit_log.c.at < self.hi,
                sa.or_(audit_log.c.entity_id == t, audit_log.c.entity_id.like(f"{t}:%")),
            )
            .order_by(audit_log.c.id)
        ) + [
            dict(r, entity="tenant_suspension")
            for r in self._rows(
                sa.select(
                    tenant_suspensions.c.at,
                    tenant_suspensions.c.suspended,
                    tenant_suspensions.c.reason,
                    tenant_suspensions.c.actor,
                    tenant_suspensions.c.incident_id,
                ).where(
                    tenant_suspensions.c.tenant_id == t,
                    tenant_suspensions.c.at >= self.lo,
                    tenant_suspensions.c.at < self.hi,
                )
            )
        ]

    # -- lineage -----------------------------------------------------------------
    def _lineage_base(self):
        return sa.and_(
            lineage.c.tenant_id == self.tenant_id, lineage.c.created_at >= self.lo, lineage.c.created_at < self.hi
        )

    def lineage_groups(self, *columns: str) -> list[dict]:
        """Lineage rows of the period per value of *columns* (``rows``)."""
        cols = [lineage.c[c] for c in columns]
        return self._rows(
            sa.select(*cols, sa.func.count().label("rows")).where(self._lineage_base()).group_by(*cols).order_by(*cols)
        )

    def lineage_distinct(self, column: str) -> int:
        return (
            self.conn.execute(
                sa.select(sa.func.count(sa.distinct(lineage.c[column]))).where(self._lineage_base())
            ).scalar()
            or 0
        )

    def lineage_deleted(self) -> int:
        return (
            self.conn.execute(
                sa.select(sa.func.count()).where(self._lineage_base(), lineage.c.deleted_at.is_not(None))
            ).scalar()
            or 0
        )

    def lineage_rows(self) -> int:
        return self._count(lineage, self._lineage_base())

    # -- counters ------------------------------------------------------------------
    def ingested(self, outcome: str | None = None) -> int:
        """Ingestion ledger rows of the period (of one outcome when given)."""
        where = [ingest_events.c.tenant_id == self.tenant_id]
        if outcome is not None:
            where.append(ingest_events.c.outcome == outcome)
        return self._count(ingest_events, *where, ingest_events.c.at >= self.lo, ingest_events.c.at < self.hi)

    def suspensions(self) -> int:
        return self._count(
            tenant_suspensions,
            tenant_suspensions.c.tenant_id == self.tenant_id,
            tenant_suspensions.c.at >= self.lo,
            tenant_suspensions.c.at < self.hi,
        )

    def queued_for_review(self) -> int:
        return self._count(
            review_queue,
            review_queue.c.tenant_id == self.tenant_id,
            review_queue.c.created_at >= self.lo,
            review_queue.c.created_at < self.hi,
        )

    def alert_deliveries(self, incident_ids: list[int]) -> int:
        return int(
            self.conn.execute(
                sa.select(sa.func.count())
                .select_from(alert_deliveries)
                .where(alert_deliveries.c.incident_id.in_(incident_ids or [-1]))
            ).scalar()
            or 0
        )


@contextmanager
def period(control: ControlStore, tenant_id: str, lo: datetime, hi: datetime) -> Iterator[PeriodEvidence]:
    with control.engine.connect() as conn:
        yield PeriodEvidence(conn, tenant_id, lo, hi)
