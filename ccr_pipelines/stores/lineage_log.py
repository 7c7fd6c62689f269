"""Record-level lineage rows (``lineage``, P2, P9, P13): the queries services need beyond
``ControlStore.record_lineage``."""

from __future__ import annotations

import sqlalchemy as sa

from .control_store import ControlStore, access_log, lineage, lineage_lookups, utcnow


def rows_of_run(control: ControlStore, run_id: str) -> list[dict]:
    """The rows one run wrote: asset, artefact and source URIs, deletion, call, tenant and kind."""
    return control.fetch(
        sa.select(
            lineage.c.asset_key,
            lineage.c.artefact_uri,
            lineage.c.source_uri,
            lineage.c.deleted_at,
            lineage.c.call_id,
            lineage.c.tenant_id,
            lineage.c.artefact_kind,
        ).where(lineage.c.run_id == run_id)
    )


_CHUNK = 500  # bound on IN (...) lists: SQLite's variable limit and PostgreSQL plan size


def _chunks(items: list, n: int = _CHUNK):
    for i in range(0, len(items), n):
        yield items[i : i + n]


def call_rows(control: ControlStore, tenant_id: str, call_ids: list[str]) -> list[dict]:
    """Every row of these calls of the tenant (by index, in chunks)."""
    out = []
    with control.engine.connect() as conn:
        for chunk in _chunks(sorted(set(call_ids))):
            q = sa.select(lineage).where(lineage.c.tenant_id == tenant_id, lineage.c.call_id.in_(chunk))
            out += [dict(r._mapping) for r in conn.execute(q)]
    return out


def period_rows_between(control: ControlStore, tenant_id: str, first_day: str, last_day: str) -> list[dict]:
    """Partition-level rows (marts, reports: no call id) of the tenant whose period overlaps
    [first_day, last_day]."""
    q = sa.select(lineage).where(
        lineage.c.tenant_id == tenant_id,
        lineage.c.call_id.is_(None),
        lineage.c.period_start <= last_day,
        lineage.c.period_end > first_day,
    )
    return control.fetch(q)


def accesses_of(control: ControlStore, tenant_id: str, objects: set[str]) -> list[dict]:
    """P3: the access-log rows of the tenant that name one of *objects* (unordered)."""
    out = []
    with control.engine.connect() as conn:
        for chunk in _chunks(sorted(objects)):
            q = sa.select(
                access_log.c.at,
                access_log.c.actor,
                access_log.c.action,
                access_log.c.purpose,
                access_log.c.object,
                access_log.c.run_id,
            ).where(access_log.c.tenant_id == tenant_id, access_log.c.object.in_(chunk))
            out += [dict(r._mapping) for r in conn.execute(q)]
    return out


def report_rows(control: ControlStore, tenant_id: str, partition_key: str, period_start: str) -> list[dict]:
    """The rows of one report (its files and the report itself)."""
    return control.fetch(
        sa.select(lineage).where(
            lineage.c.tenant_id == tenant_id,
            lineage.c.artefact_kind.in_(("report", "report_file")),
            lineage.c.partition_key == partition_key,
            lineage.c.period_start == period_start,
        )
    )


def score_rows_between(control: ControlStore, tenant_id: str, first_day: str, end_day: str) -> list[dict]:
    """The call-score rows of the tenant's days in [first_day, end_day): call, run, versions, deletion."""
    return control.fetch(
        sa.select(
            lineage.c.call_id,
            lineage.c.run_id,
            lineage.c.model_version,
            lineage.c.scorer_version,
            lineage.c.scorecard_version,
            lineage.c.partition_key,
            lineage.c.deleted_at,
        ).where(
            lineage.c.tenant_id == tenant_id,
            lineage.c.artefact_kind == "call_score",
            lineage.c.partition_key >= first_day,
            lineage.c.partition_key < end_day,
        )
    )


# -- lookups asked of the Dagster job (P13, P16) --------------------------------
def add_lookup(control: ControlStore, tenant_id: str, lookup: str, target: str, *, actor: str) -> int:
    with control.engine.begin() as conn:
        r = conn.execute(
            lineage_lookups.insert().values(
                tenant_id=tenant_id,
                lookup=lookup,
                target=target,
                actor=actor[:200],
                requested_at=utcnow(),
                status="requested",
            )
        )
        return int(r.inserted_primary_key[0])


def get_lookup(control: ControlStore, request_id: int) -> dict | None:
    rows = control.fetch(sa.select(lineage_lookups).where(lineage_lookups.c.id == request_id))
    return rows[0] if rows else None


def finish_lookup(
    control: ControlStore, request_id: int, *, status: str, export_key: str | None, run_id: str | None
) -> None:
    with control.engine.begin() as conn:
        conn.execute(
            lineage_lookups.update()
            .where(lineage_lookups.c.id == request_id)
            .values(status=status, export_key=export_key, run_id=run_id, answered_at=utcnow())
        )
