"""Transcript search over the redacted segments (issue 19; P3, P4, P16, P17, P21).

The index (``search_segments``, control-store schema revision 0015) holds the redacted text of each
segment, written whenever a tenant-day's ``redacted_segments`` partition is written
(``index_partition``, called by the redaction asset) and replaced whole with it. It lives in the
control store so that the transaction of an erasure deletes the erased calls' rows with the rest
of their index rows (``delete_calls``); a call under an active restriction is left out by the query
itself (the same ``subject_calls`` x ``subject_restrictions`` join as ``restricted_call_ids``), so
it disappears the moment the restriction commits and comes back when it is lifted.

Every search writes one access-log row (action ``search``) in the transaction that reads: the
tenant, the caller, a keyed digest of the folded query and the number of results, never the query.
A search reads one tenant's rows only (the tenant is a bound parameter of every statement).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta

import pyarrow as pa
import sqlalchemy as sa

from ..core.keys import validate_tenant_id
from ..core.search import SPEAKERS, SearchQueryError, fold, fts5_match, pg_tsquery, query_digest, query_terms
from ..stores.control_store import (
    ControlStore,
    access_log,
    search_segments,
    subject_calls,
    subject_restrictions,
    utcnow,
)

MAX_LIMIT = 200
MAX_CATEGORY_CALLS = 20_000
_BATCH = 5_000
CATEGORY_HITS_DATASET = "category_hits"  # written by the categories step (issue 19, other branch)


def _rows(tenant_id: str, day: str, table: pa.Table) -> list[dict]:
    out = []
    for r in table.select(
        [
            c
            for c in ("tenant_id", "call_id", "segment_index", "speaker", "start_s", "end_s", "text", "no_speech")
            if c in table.column_names
        ]
    ).to_pylist():
        if r["tenant_id"] != tenant_id:  # P4
            raise ValueError("the partition holds another tenant's rows")
        text = (r.get("text") or "").strip()
        if not text or r.get("no_speech"):
            continue
        out.append(
            {
                "tenant_id": tenant_id,
                "day": day,
                "call_id": r["call_id"],
                "segment_index": int(r["segment_index"]),
                "speaker": r.get("speaker"),
                "start_s": r.get("start_s"),
                "end_s": r.get("end_s"),
                "text": text,
            }
        )
    return out


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


def index_partition(control: ControlStore, tenant_id: str, day: str, table: pa.Table | None) -> int:
    """Replace the index rows of one tenant-day with the segments of its redacted partition (one
    transaction: a search sees the old rows or the new ones). Returns the rows indexed."""
    validate_tenant_id(tenant_id)
    rows = _rows(tenant_id, day, table) if table is not None else []
    with control.engine.begin() as conn:
        conn.execute(
            search_segments.delete().where(search_segments.c.tenant_id == tenant_id, search_segments.c.day == day)
        )
        _insert(conn, rows)
    return len(rows)


def rebuild(control: ControlStore, warehouse, tenant_id: str) -> int:
    """Index every redacted partition of the tenant again (after a restore: the index is not backed up)."""
    from ..core.catalog import REDACTED_SEGMENTS

    return sum(
        index_partition(control, tenant_id, day, warehouse.read_partition(REDACTED_SEGMENTS.name, tenant_id, day))
        for day in warehouse.partitions(REDACTED_SEGMENTS.name, tenant_id)
    )


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


def category_calls(
    warehouse, tenant_id: str, category: str, *, day_from: str | None = None, day_to: str | None = None
) -> set[str]:
    """The tenant's calls with a hit of *category* (the categories step's ``category_hits`` dataset)."""
    days = None
    if day_from or day_to:
        days = [
            d
            for d in warehouse.partitions(CATEGORY_HITS_DATASET, tenant_id)
            if (not day_from or d >= day_from) and (not day_to or d <= day_to)
        ]
        if not days and warehouse.partitions(CATEGORY_HITS_DATASET, tenant_id):
            return set()  # hits exist, none in the period
    try:
        return _category_query(warehouse, tenant_id, category, days)
    except LookupError:
        raise SearchQueryError(
            f"--category: tenant '{tenant_id}' has no category hits yet (the categories step "
            f"writes the dataset {CATEGORY_HITS_DATASET}; see docs/search.md)"
        ) from None


def _category_query(warehouse, tenant_id: str, category: str, days) -> set[str]:
    import duckdb

    tbl = warehouse.query(
        "SELECT call_id, category FROM t", dataset=CATEGORY_HITS_DATASET, tenant_id=tenant_id, days=days
    )
    con = duckdb.connect()
    try:
        con.register("hits", tbl)
        return {
            r[0] for r in con.execute("SELECT DISTINCT call_id FROM hits WHERE category = ?", [category]).fetchall()
        }
    finally:
        con.close()


MAX_WINDOW_DAYS = 400


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


def search(
    control: ControlStore,
    tenant_id: str,
    query: str,
    *,
    actor: str,
    digest_key: str,
    speaker: str | None = None,
    day_from: str | None = None,
    day_to: str | None = None,
    call_ids: Collection[str] | None = None,
    limit: int = 20,
    purpose: str = "ccr search",
) -> list[dict]:
    """The tenant's segments holding every word of *query* (case and accents folded), newest indexed
    first, at most *limit*; one access-log row in the same transaction (P3)."""
    validate_tenant_id(tenant_id)
    terms = query_terms(query)
    if speaker is not None and speaker not in SPEAKERS:
        raise SearchQueryError(f"--speaker: one of {', '.join(SPEAKERS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchQueryError(f"--limit: between 1 and {MAX_LIMIT}")
    if call_ids is not None and len(call_ids) > MAX_CATEGORY_CALLS:
        raise SearchQueryError(f"--category: more than {MAX_CATEGORY_CALLS} calls; narrow it with --from/--to")
    digest = query_digest(query, tenant_id=tenant_id, key=digest_key)
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
            found = []
        else:
            if call_ids is not None:
                where.append(s.c.call_id.in_(sorted(call_ids)))
            where.append(_not_restricted(s))
            if conn.dialect.name == "postgresql":
                match = sa.text("search_segments.tsv @@ to_tsquery('simple', :tsq)").bindparams(tsq=pg_tsquery(terms))
                q = sa.select(*cols).where(match, s.c.id.between(*window), *where).order_by(s.c.id.desc()).limit(limit)
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
            found = [dict(r._mapping) for r in conn.execute(q)]
        rows = found
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
