"""The transcript search index's queries (issue 19; P3, P4, P16, P17): the only code naming
``search_segments`` (schema revision 0015) besides the erasure's transaction (``stores/subjects``).

Engine-specific: SQLite's FTS5 table ``search_fts`` (kept in step by triggers) and PostgreSQL's ``tsv``
column (written here, from the folded text). Every statement binds the tenant (P4).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta

import sqlalchemy as sa

from ..core.search import fold, fts5_match, pg_tsquery
from .control_store import ControlStore, access_log, search_segments, subject_calls, subject_restrictions, utcnow

_BATCH = 5_000


def _insert(conn: sa.Connection, rows: list[dict]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # one statement per batch (arrays unnested server-side): row-by-row executemany is ~10x slower
        stmt = sa.text(
            "INSERT INTO search_segments (tenant_id, day, call_id, segment_index, speaker, start_s, end_s, text, tsv) "
            "SELECT u.tenant_id, u.day, u.call_id, u.segment_index, u.speaker, u.start_s, u.end_s, u.text, "
            "to_tsvector('simple', u.folded) FROM unnest(CAST(:tenant_id AS varchar[]), CAST(:day AS varchar[]), "
            "CAST(:call_id AS varchar[]), CAST(:segment_index AS integer[]), CAST(:speaker AS varchar[]), "
            "CAST(:start_s AS double precision[]), CAST(:end_s AS double precision[]), CAST(:text AS text[]), "
            "CAST(:folded AS text[])) AS u(tenant_id, day, call_id, segment_index, speaker, start_s, end_s, text, "
            "folded)"
        )
        for i in range(0, len(rows), _BATCH):
            batch = rows[i : i + _BATCH]
            cols = {
                k: [r[k] for r in batch]
                for k in ("tenant_id", "day", "call_id", "segment_index", "speaker", "start_s", "end_s", "text")
            }
            conn.execute(stmt, {**cols, "folded": [fold(r["text"]) for r in batch]})
    else:
        for i in range(0, len(rows), _BATCH):
            conn.execute(search_segments.insert(), rows[i : i + _BATCH])


def replace_day(control: ControlStore, tenant_id: str, day: str, rows: list[dict]) -> None:
    """The tenant-day's index rows replaced by *rows*, in one transaction (a search sees old or new)."""
    with control.engine.begin() as conn:
        conn.execute(
            search_segments.delete().where(search_segments.c.tenant_id == tenant_id, search_segments.c.day == day)
        )
        _insert(conn, rows)


def delete_calls(conn: sa.Connection, tenant_id: str, call_ids: Collection[str]) -> int:
    """P17: the calls' index rows, in the caller's transaction (the erasure's)."""
    ids = sorted(call_ids)
    if not ids:
        return 0
    return (
        conn.execute(
            search_segments.delete().where(search_segments.c.tenant_id == tenant_id, search_segments.c.call_id.in_(ids))
        ).rowcount
        or 0
    )


def delete_days(
    conn: sa.Connection, tenant_id: str, *, days: Iterable[str] | None = None, before: str | None = None
) -> int:
    """P19: the index rows of expired days (or of every day: offboarding), in the caller's transaction."""
    where = [search_segments.c.tenant_id == tenant_id]
    if days is not None:
        where.append(search_segments.c.day.in_(sorted(days)))
    if before is not None:
        where.append(search_segments.c.day < before)
    return conn.execute(search_segments.delete().where(*where)).rowcount or 0


def purge_days(control: ControlStore, tenant_id: str, *, days: Iterable[str] | None = None) -> int:
    """P19: the index rows of expired days (None: every day, offboarding), in their own transaction."""
    with control.engine.begin() as conn:
        return delete_days(conn, tenant_id, days=days)


def count_rows(control: ControlStore, tenant_id: str, call_ids: Collection[str] | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(search_segments).where(search_segments.c.tenant_id == tenant_id)
    if call_ids is not None:
        q = q.where(search_segments.c.call_id.in_(sorted(call_ids)))
    return int(control.fetch(q)[0]["count_1"])


def _not_restricted(s: sa.Table) -> sa.ColumnElement:
    """P16: no active restriction names a subject of the call (evaluated by the search's own statement)."""
    return ~sa.exists(
        sa.select(sa.literal(1))
        .select_from(
            subject_calls.join(
                subject_restrictions,
                sa.and_(
                    subject_restrictions.c.tenant_id == subject_calls.c.tenant_id,
                    subject_restrictions.c.subject_hash == subject_calls.c.subject_hash,
                ),
            )
        )
        .where(
            subject_calls.c.tenant_id == s.c.tenant_id,
            subject_calls.c.call_id == s.c.call_id,
            subject_restrictions.c.lifted_at.is_(None),
        )
    )


MAX_WINDOW_DAYS = 400
# PostgreSQL: below this many estimated matches a query reads the GIN index's matches (a bitmap) and
# sorts them; above it the planner's newest-first walk finds its 20 rows sooner. Measured at 20M
# rows: a word found nowhere 6.8 s newest-first vs 3 ms from the index; 36,000 matches 93 ms vs 314 ms.
FEW_MATCHES = 5_000


def _pg_few_matches(conn: sa.Connection, terms: Iterable[str]) -> bool:
    """Whether a query's rarest term is estimated below ``FEW_MATCHES`` rows, from the statistics
    ANALYZE keeps of the ``tsv`` column (its most common lexemes and their frequencies). A term
    absent from them is rarer than the rarest listed: few. Without statistics the planner decides."""
    row = conn.execute(
        sa.text(
            "SELECT s.most_common_elems::text::text[] AS lexemes, s.most_common_elem_freqs AS freqs, c.reltuples "
            "FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename "
            "WHERE s.schemaname = current_schema() AND s.tablename = 'search_segments' AND s.attname = 'tsv'"
        )
    ).first()
    if row is None or not row.lexemes or not row.reltuples or row.reltuples < FEW_MATCHES:
        return False
    freq = dict(zip(row.lexemes, row.freqs))
    return min(freq.get(t, 0.0) for t in terms) * row.reltuples < FEW_MATCHES


def _id_window(conn: sa.Connection, tenant_id: str, day_from: str | None, day_to: str) -> tuple[int, int] | None:
    """The smallest and largest index row id of the tenant's days in the window (None: no row).

    A tenant-day's rows are written by one insert, so they sit in one block of ids; bounding the
    full-text scan by the window's ids keeps a query over an old window from walking back through
    every newer row (the newest-first plan the engines pick for a frequent word). Each day costs
    two lookups on ``ix_search_segments_day`` (tenant, day, id)."""
    s = search_segments
    last = conn.execute(sa.select(sa.func.max(s.c.day)).where(s.c.tenant_id == tenant_id)).scalar()
    if last is not None and day_to >= last:
        return (0, 2**62)  # the window reaches the newest day: the newest-first scan starts inside it
    first = day_from or conn.execute(sa.select(sa.func.min(s.c.day)).where(s.c.tenant_id == tenant_id)).scalar()
    if first is None or first > day_to:
        return None
    d0, d1 = date.fromisoformat(first), date.fromisoformat(day_to)
    if (d1 - d0).days > MAX_WINDOW_DAYS:
        return (0, 2**62)  # a long window: no bound worth computing
    lo = hi = None
    for i in range((d1 - d0).days + 1):
        day = (d0 + timedelta(days=i)).isoformat()
        cond = (s.c.tenant_id == tenant_id, s.c.day == day)
        a = conn.execute(sa.select(s.c.id).where(*cond).order_by(s.c.id).limit(1)).scalar()
        if a is None:
            continue
        b = conn.execute(sa.select(s.c.id).where(*cond).order_by(s.c.id.desc()).limit(1)).scalar()
        lo, hi = (a if lo is None else min(lo, a)), (b if hi is None else max(hi, b))
    return None if lo is None else (lo, hi)


def find(
    control: ControlStore,
    tenant_id: str,
    terms: list[str],
    *,
    speaker: str | None,
    day_from: str | None,
    day_to: str | None,
    call_ids: Collection[str] | None,
    limit: int,
    actor: str,
    purpose: str,
    digest: str,
) -> list[dict]:
    """The tenant's unrestricted segments holding every term, newest indexed first, at most *limit*; the
    access-log row (a digest of the query, never its words) in the same transaction (P3)."""
    s = search_segments
    cols = [s.c.call_id, s.c.day, s.c.segment_index, s.c.speaker, s.c.start_s, s.c.end_s, s.c.text]
    where = [s.c.tenant_id == tenant_id]
    if speaker:
        where.append(s.c.speaker == speaker)
    if day_from:
        where.append(s.c.day >= day_from)
    if day_to:
        where.append(s.c.day <= day_to)
    with control.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the read and its log row: one snapshot, no upgrade race
        window = _id_window(conn, tenant_id, day_from, day_to) if day_to else (0, 2**62)
        if (call_ids is not None and not call_ids) or window is None:
            rows = []
        else:
            if call_ids is not None:
                where.append(s.c.call_id.in_(sorted(call_ids)))
            where.append(_not_restricted(s))
            if conn.dialect.name == "postgresql":
                match = sa.text("search_segments.tsv @@ to_tsquery('simple', :tsq)").bindparams(tsq=pg_tsquery(terms))
                q = sa.select(*cols).where(match, s.c.id.between(*window), *where).order_by(s.c.id.desc()).limit(limit)
                if _pg_few_matches(conn, terms):
                    # read the full-text index's matches, not every row newest-first (transaction-scoped)
                    conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
            else:
                fts = sa.table("search_fts", sa.column("rowid"))
                match = sa.text("search_fts MATCH :m").bindparams(m=fts5_match(terms))
                q = (
                    sa.select(*cols)
                    .select_from(fts.join(s, s.c.id == fts.c.rowid))
                    .where(match, fts.c.rowid.between(*window), *where)
                    .order_by(fts.c.rowid.desc())
                    .limit(limit)
                )
            rows = [dict(r._mapping) for r in conn.execute(q)]
        conn.execute(
            access_log.insert().values(
                at=utcnow(),
                actor=actor,
                tenant_id=tenant_id,
                action="search",
                purpose=purpose[:200],
                object=f"search/{tenant_id} query {digest} results {len(rows)}",
            )
        )
    return rows
