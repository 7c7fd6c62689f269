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

from collections.abc import Collection

import pyarrow as pa

from ..core.catalog import CALL_CATEGORIES
from ..core.keys import validate_tenant_id
from ..core.search import SPEAKERS, SearchQueryError, query_digest, query_terms
from ..stores import search_index as index_store
from ..stores.control_store import ControlStore

MAX_LIMIT = 200
MAX_CATEGORY_CALLS = 20_000
# the categories step's dataset (core/catalog.py): one row per call and category hit
CATEGORY_HITS_DATASET = CALL_CATEGORIES.name


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


def index_partition(control: ControlStore, tenant_id: str, day: str, table: pa.Table | None) -> int:
    """Replace the index rows of one tenant-day with the segments of its redacted partition (one
    transaction: a search sees the old rows or the new ones). Returns the rows indexed."""
    validate_tenant_id(tenant_id)
    rows = _rows(tenant_id, day, table) if table is not None else []
    index_store.replace_day(control, tenant_id, day, rows)
    return len(rows)


def rebuild(control: ControlStore, warehouse, tenant_id: str) -> int:
    """Index every redacted partition of the tenant again (after a restore: the index is not backed up)."""
    from ..core.catalog import REDACTED_SEGMENTS

    return sum(
        index_partition(control, tenant_id, day, warehouse.read_partition(REDACTED_SEGMENTS.name, tenant_id, day))
        for day in warehouse.partitions(REDACTED_SEGMENTS.name, tenant_id)
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
    return index_store.find(
        control,
        tenant_id,
        terms,
        speaker=speaker,
        day_from=day_from,
        day_to=day_to,
        call_ids=call_ids,
        limit=limit,
        actor=actor,
        purpose=purpose,
        digest=digest,
    )


def count_rows(control: ControlStore, tenant_id: str, call_ids: Collection[str] | None = None) -> int:
    """The tenant's index rows (of *call_ids* when given)."""
    return index_store.count_rows(control, tenant_id, call_ids)


def purge_days(control: ControlStore, tenant_id: str, *, days=None) -> int:
    """P19: the index rows of expired days (None: every day, offboarding)."""
    return index_store.purge_days(control, tenant_id, days=days)
