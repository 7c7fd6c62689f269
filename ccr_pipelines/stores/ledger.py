"""The ingestion ledger's queries (``ingest_events``, with the subject indexes written alongside it):
what services ask of the control store about received files, so that no service, asset or command
touches the tables themselves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from ..core.ingest import Outcome
from .control_store import ControlStore, access_log, ingest_events, lineage, quarantine_subjects, subject_calls


def rows_for_keys(control: ControlStore, safe_keys: list[str]) -> list[dict]:
    """The ledger rows of these (safe) source keys, oldest first."""
    if not safe_keys:
        return []
    return control.fetch(
        sa.select(ingest_events).where(ingest_events.c.source_key.in_(safe_keys)).order_by(ingest_events.c.id)
    )


def source_keys(control: ControlStore, tenant_id: str | None, day: str) -> list[str]:
    """The source keys the ledger holds for a tenant-day (``tenant_id`` None: the unroutable rows, any day)."""
    where = (
        [ingest_events.c.tenant_id == tenant_id, ingest_events.c.partition_key == day]
        if tenant_id
        else [ingest_events.c.tenant_id.is_(None)]
    )
    return [r["source_key"] for r in control.fetch(sa.select(ingest_events.c.source_key).where(*where))]


def commit_batch(
    control: ControlStore,
    *,
    ledger: Iterable[Mapping],
    lineage_rows: Iterable[Mapping],
    access_rows: Iterable[Mapping],
    subject_rows: Iterable[Mapping],
    quarantine_rows: Iterable[Mapping],
) -> None:
    """A batch's ledger, lineage, access-log and subject-index rows in one transaction."""
    with control.engine.begin() as conn:
        for table, rows in (
            (ingest_events, ledger),
            (lineage, lineage_rows),
            (access_log, access_rows),
            (subject_calls, subject_rows),
            (quarantine_subjects, quarantine_rows),
        ):
            rows = list(rows)
            if rows:
                conn.execute(table.insert(), rows)


def accepted_call_with_sha(control: ControlStore, tenant_id: str, sha: str) -> str | None:
    """The call id of the tenant's accepted recording with this sha256, if any (duplicate detection)."""
    rows = control.fetch(
        sa.select(ingest_events.c.call_id)
        .where(
            ingest_events.c.tenant_id == tenant_id,
            ingest_events.c.sha256 == sha,
            ingest_events.c.outcome == Outcome.ACCEPTED.value,
        )
        .limit(1)
    )
    return rows[0]["call_id"] if rows else None


def outcome_counts(control: ControlStore, tenant_id: str | None = None) -> list[dict]:
    """``ccr ingest status``: rows per tenant, day, outcome and reason."""
    q = sa.select(
        ingest_events.c.tenant_id,
        ingest_events.c.partition_key,
        ingest_events.c.outcome,
        ingest_events.c.reason,
        sa.func.count().label("n"),
    ).group_by(
        ingest_events.c.tenant_id, ingest_events.c.partition_key, ingest_events.c.outcome, ingest_events.c.reason
    )
    if tenant_id:
        q = q.where(ingest_events.c.tenant_id == tenant_id)
    return control.fetch(q.order_by(ingest_events.c.tenant_id, ingest_events.c.partition_key))


def outcomes_between(control: ControlStore, tenant_id: str, first_day: str, end_day: str) -> dict[str, int]:
    """Received files per outcome for the tenant's days in [first_day, end_day) (a report's period)."""
    q = (
        sa.select(ingest_events.c.outcome, sa.func.count())
        .where(
            ingest_events.c.tenant_id == tenant_id,
            ingest_events.c.partition_key >= first_day,
            ingest_events.c.partition_key < end_day,
        )
        .group_by(ingest_events.c.outcome)
    )
    with control.engine.connect() as conn:
        return {outcome: int(n) for outcome, n in conn.execute(q)}
