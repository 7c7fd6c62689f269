"""The retention purge's queries (P19): the control-store rows past retention, their deletion (the
access log's through a retention grant), and ``purge_log``, the purge's own record (counts only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa

from .control_store import (
    ControlStore,
    access_log,
    lineage,
    purge_log,
    retention_grants,
    review_queue,
    search_segments,
    subject_calls,
    subject_restrictions,
    suppression_list,
    utcnow,
)

# The tables an offboarded tenant's rows leave (the append-only trails stay, as evidence).
OFFBOARDING_TABLES = ("review_queue", "subject_calls", "suppression_list", "subject_restrictions")
_TABLES = {t.name: t for t in (review_queue, subject_calls, suppression_list, subject_restrictions)}


def _count(control: ControlStore, table: sa.Table, *where) -> int:
    return control.fetch(sa.select(sa.func.count()).select_from(table).where(*where))[0]["count_1"]


def expired_counts(
    control: ControlStore, tenant_id: str, *, queued_before: datetime, call_day_before: str, accessed_before: datetime
) -> dict[str, int]:
    """Rows past retention: review-queue rows created, subject-index rows of calls, access-log rows."""
    return {
        "review_queue": _count(
            control, review_queue, review_queue.c.tenant_id == tenant_id, review_queue.c.created_at < queued_before
        ),
        "subject_calls": _count(
            control, subject_calls, subject_calls.c.tenant_id == tenant_id, subject_calls.c.day < call_day_before
        ),
        "access_log": _count(
            control, access_log, access_log.c.tenant_id == tenant_id, access_log.c.at < accessed_before
        ),
    }


def tenant_row_counts(control: ControlStore, tenant_id: str) -> dict[str, int]:
    """An offboarded tenant's rows in each of OFFBOARDING_TABLES, and in the search index (issue 19,
    deleted through services/search)."""
    counted = {**_TABLES, "search_segments": search_segments}
    return {
        name: _count(control, counted[name], counted[name].c.tenant_id == tenant_id)
        for name in (*OFFBOARDING_TABLES, "search_segments")
    }


def mark_deleted(control: ControlStore, tenant_id: str, artefact_uri: str) -> None:
    """P17/P19: lineage keeps the fact, not the content."""
    with control.engine.begin() as conn:
        conn.execute(
            lineage.update()
            .where(
                lineage.c.tenant_id == tenant_id, lineage.c.deleted_at.is_(None), lineage.c.artefact_uri == artefact_uri
            )
            .values(deleted_at=utcnow())
        )


def delete_access_log(control: ControlStore, tenant_id: str, before: datetime, *, run_id: str | None) -> int:
    """Append-only: a retention grant lets exactly the tenant's rows older than *before* through (P3, P19)."""
    with control.engine.begin() as conn:
        conn.execute(
            retention_grants.insert().values(
                table_name="access_log", tenant_id=tenant_id, before=before, run_id=run_id, granted_at=utcnow()
            )
        )
        n = conn.execute(
            access_log.delete().where(access_log.c.tenant_id == tenant_id, access_log.c.at < before)
        ).rowcount
    return n or 0


def delete_rows(
    control: ControlStore,
    table_name: str,
    tenant_id: str,
    *,
    queued_before: datetime | None = None,
    call_day_before: str | None = None,
    offboarding: bool = False,
) -> int:
    """Delete the tenant's expired rows of *table_name* (all of them when *offboarding*, and then every
    lineage row of the tenant is marked deleted)."""
    table = _TABLES[table_name]
    where = [table.c.tenant_id == tenant_id]
    if not offboarding:
        if table is review_queue:
            where.append(review_queue.c.created_at < queued_before)
        else:
            where.append(subject_calls.c.day < call_day_before)
    with control.engine.begin() as conn:
        n = conn.execute(table.delete().where(*where)).rowcount or 0
        if offboarding:
            conn.execute(
                lineage.update()
                .where(lineage.c.tenant_id == tenant_id, lineage.c.deleted_at.is_(None))
                .values(deleted_at=utcnow())
            )
    return n


def record(control: ControlStore, rows: Mapping | Iterable[Mapping]) -> None:
    """``purge_log`` rows: run, tenant, data class, dry run, object and row counts."""
    control.insert(purge_log, rows)


def last_marker(control: ControlStore, tenant_id: str, markers: list[str]) -> str | None:
    """The data class of the latest real (not dry-run) row of *tenant_id* among *markers*."""
    rows = control.fetch(
        sa.select(purge_log.c.data_class)
        .where(purge_log.c.tenant_id == tenant_id, purge_log.c.dry_run.is_(False), purge_log.c.data_class.in_(markers))
        .order_by(purge_log.c.id.desc())
        .limit(1)
    )
    return rows[0]["data_class"] if rows else None


def has_entry(control: ControlStore, tenant_id: str, data_class: str) -> bool:
    return bool(
        control.fetch(
            sa.select(purge_log.c.id)
            .where(purge_log.c.tenant_id == tenant_id, purge_log.c.data_class == data_class)
            .limit(1)
        )
    )


def purged_totals(control: ControlStore, tenant_id: str) -> tuple[int, int]:
    """(object versions, rows) the real purges removed of the tenant's data, all runs."""
    total = control.fetch(
        sa.select(
            sa.func.coalesce(sa.func.sum(purge_log.c.objects), 0), sa.func.coalesce(sa.func.sum(purge_log.c.rows), 0)
        ).where(purge_log.c.tenant_id == tenant_id, purge_log.c.dry_run.is_(False))
    )[0]
    vals = list(total.values())
    return int(vals[0]), int(vals[1])
