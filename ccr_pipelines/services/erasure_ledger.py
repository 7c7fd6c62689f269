"""The erasure and suppression ledger: restores never bring an erased subject back (P6, P17, P18).

Every erasure and every suppression appends one JSON object under
``control/erasure-ledger/{tenant}/`` in the object store: the control zone, outside
``control/backups/`` (a backup never holds the ledger, a restore never replaces it) and never
overwritten (each entry is a new key). An entry holds the subject's keyed hashes, keyed digests of
the erased call ids (never a call id), and the erasure's receipt (masked). ``reapply`` runs at the
end of every ``restore_backup``, before the restored store is handed back: the suppression rows
come back, the subject's index, review and lookup rows go again, the lineage rows are marked
deleted again, the request gets its receipt back, and the marts copy loses the calls' rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from datetime import datetime

from ..core.catalog import ERASURE_LEDGER_PREFIX
from ..core.errors import CcrError
from ..stores import subjects as subjects_store
from ..stores.control_store import ControlStore, utcnow
from ..stores.object_store import ObjectStore

LEDGER_PREFIX = ERASURE_LEDGER_PREFIX
FORMAT = 1


class LedgerError(CcrError, RuntimeError):
    """The ledger cannot be read or re-applied (no personal data in the message)."""


def call_digest(secret: str, tenant_id: str, call_id: str) -> str:
    """Keyed digest of a call id, scoped to its tenant: the ledger matches calls without naming them."""
    return hmac.new(secret.encode(), f"call\x1f{tenant_id}\x1f{call_id}".encode(), hashlib.sha256).hexdigest()


def append(
    store: ObjectStore,
    *,
    kind: str,
    tenant_id: str,
    secret: str | None,
    subject_hashes: dict[str, str],
    call_ids=(),
    request_id: int | None = None,
    reason: str = "",
    receipt: dict | None = None,
    now: datetime | None = None,
) -> str:
    """Write one entry (a new object; an existing key is never replaced). Returns its key."""
    if kind not in ("erasure", "suppression"):
        raise ValueError(f"unknown ledger entry kind {kind!r}")
    if call_ids and not secret:
        raise ValueError("call digests need the subject-hash key")
    now = now or utcnow()
    entry = {
        "format": FORMAT,
        "kind": kind,
        "tenant_id": tenant_id,
        "request_id": request_id,
        "reason": reason,
        "at": now.isoformat(),
        "subject_hashes": dict(sorted(subject_hashes.items())),
        "call_digests": sorted({call_digest(secret, tenant_id, c) for c in call_ids}),
        "receipt": receipt,
    }
    body = json.dumps(entry, sort_keys=True, default=str).encode()
    stem = f"{LEDGER_PREFIX}/{tenant_id}/{now:%Y%m%dT%H%M%S%fZ}-{kind}-{hashlib.sha256(body).hexdigest()[:12]}"
    key, n = f"{stem}.json", 1
    while store.exists(key):
        key, n = f"{stem}-{n}.json", n + 1
    store.put_bytes(key, body)
    return key


def entries(store: ObjectStore) -> list[dict]:
    """Every ledger entry, oldest first."""
    out = []
    for info in sorted(store.list(LEDGER_PREFIX + "/"), key=lambda i: i.key.rsplit("/", 1)[-1]):
        if not info.key.endswith(".json"):
            continue
        try:
            e = json.loads(store.get_bytes(info.key))
        except ValueError:
            raise LedgerError(f"erasure ledger entry {info.key.rsplit('/', 1)[-1]} is not JSON") from None
        if e.get("format") != FORMAT:
            raise LedgerError(f"erasure ledger entry {info.key.rsplit('/', 1)[-1]}: unknown format")
        out.append(e)
    return out


def reapply(
    store: ObjectStore, control: ControlStore, secret: str | None, *, actor: str = "ccr backup restore", marts_path=None
) -> dict:
    """Re-apply every ledger entry to *control* (and the marts file at *marts_path*): idempotent."""
    from .dsr import add_to_suppression_list

    all_entries = entries(store)
    counts = defaultdict(int)
    counts["entries"] = len(all_entries)
    if not all_entries:
        return dict(counts)
    if not secret:
        raise LedgerError("the erasure ledger has entries: re-applying them needs the subject-hash key")
    by_tenant: dict[str, list[dict]] = defaultdict(list)
    for e in all_entries:
        by_tenant[e["tenant_id"]].append(e)
    erased_calls: dict[str, set[str]] = {}
    for tenant, es in sorted(by_tenant.items()):
        erased_hashes = sorted({h for e in es if e["kind"] == "erasure" for h in e["subject_hashes"]})
        digests = {d for e in es if e["kind"] == "erasure" for d in e["call_digests"]}
        for e in es:  # P18: the suppression list as it was after each entry
            counts["suppressions_restored"] += add_to_suppression_list(
                control, tenant, e["subject_hashes"], reason=e.get("reason") or e["kind"], actor=actor, store=None
            )
        # which call ids of this tenant are erased ones (the store names them, the ledger only digests them)
        ids = {v for v in subjects_store.call_ids_named(control, tenant) if call_digest(secret, tenant, v) in digests}
        erased_calls[tenant] = ids
        # the request's receipt as the erasure left it (the backup may predate it)
        receipts = [
            (e["request_id"], e["receipt"])
            for e in es
            if e["kind"] == "erasure" and e["request_id"] is not None and e.get("receipt")
        ]
        for k, v in subjects_store.reapply_erasures(
            control, tenant, sorted(ids), erased_hashes, receipts, now=utcnow()
        ).items():
            counts[k] += v
    if marts_path:
        counts["marts_rows"] += _reapply_marts(
            marts_path,
            secret,
            {t: {d for e in es if e["kind"] == "erasure" for d in e["call_digests"]} for t, es in by_tenant.items()},
        )
    return dict(counts)


def _reapply_marts(path, secret: str, digests: dict[str, set[str]]) -> int:
    """Delete the erased calls' rows from every stored table of a restored DuckDB marts file."""
    import duckdb

    n = 0
    con = duckdb.connect(str(path))
    try:
        tables = con.execute(
            "SELECT t.table_schema, t.table_name FROM information_schema.tables t WHERE t.table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            cols = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                    [schema, table],
                ).fetchall()
            }
            if not {"tenant_id", "call_id"} <= cols:
                continue
            pairs = con.execute(f'SELECT DISTINCT tenant_id, call_id FROM "{schema}"."{table}"').fetchall()
            for tenant, cid in pairs:
                if tenant in digests and cid and call_digest(secret, tenant, cid) in digests[tenant]:
                    n += con.execute(
                        f'DELETE FROM "{schema}"."{table}" WHERE tenant_id = ? AND call_id = ?', [tenant, cid]
                    ).fetchall()[0][0]
    finally:
        con.close()
    return n
