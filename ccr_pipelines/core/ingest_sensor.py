"""Planning one tick of the inbox sensor (pure; the Dagster sensor is a thin wrapper).

The cursor is the greatest (LastModified, key) already requested, stored as
JSON. Objects after it are grouped by (tenant, day) into run requests of at
most ``batch_size`` keys, ``limit`` objects per tick. Run keys are
deterministic: the same batch always gets the same key.

Because the inbox is emptied by ingestion, an object still there long after
the cursor passed it was missed (a multipart upload keeps its *start* time as
LastModified) or its run failed: it is requested again once, alone, as a
straggler.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from .ingest import SIDECAR_EXTENSION, UNROUTED, is_safe_key, route_of_key, sidecar_candidate

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    last_modified: datetime
    key: str

    def to_json(self) -> str:
        # Dagster keeps cursors forever: a key that may carry personal data is
        # stored as its folder prefix (sorts before it; the worst case is one
        # object requested twice, which the ledger's unique constraint absorbs).
        key = self.key if is_safe_key(self.key) else self.key.rsplit("/", 1)[0][:200] + "/"
        return json.dumps({"lm": self.last_modified.isoformat(), "key": key}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Cursor | None:
        if not text:
            return None
        doc = json.loads(text)
        return cls(datetime.fromisoformat(doc["lm"]), doc["key"])

    def position(self) -> tuple[datetime, str]:
        return (self.last_modified, self.key)


@dataclass(frozen=True)
class Batch:
    tenant_id: str  # UNROUTED for objects that name no active-or-known tenant-day
    day: str
    keys: tuple[str, ...]
    run_key: str
    straggler: bool = False


@dataclass
class TickPlan:
    batches: list[Batch] = field(default_factory=list)
    cursor: Cursor | None = None
    new_objects: int = 0
    pending_after_limit: int = 0
    skip_reason: str | None = None


def _run_key(tenant: str, day: str, objs: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256("\n".join(f"{k}@{e}" for k, e in sorted(objs)).encode()).hexdigest()[:24]
    return f"ingest:{tenant}:{day}:{digest}"


def plan_tick(
    objects: Iterable,
    cursor: Cursor | None,
    *,
    known_tenants: set[str],
    now: datetime,
    min_day: date,
    limit: int = 1000,
    batch_size: int = 200,
    settle: timedelta = timedelta(seconds=5),
    straggler_after: timedelta = timedelta(hours=6),
) -> TickPlan:
    """*objects* are items with ``key``, ``etag`` and ``last_modified`` (the inbox listing)."""
    plan = TickPlan(cursor=cursor)
    pos = cursor.position() if cursor else (EPOCH, "")
    max_day = (now + timedelta(days=1)).date()
    fresh, stragglers = [], []
    objects = list(objects)  # the inbox: pending objects only, so this stays small
    owned_sidecars = {sidecar_candidate(o.key) for o in objects if not o.key.endswith("." + SIDECAR_EXTENSION)}
    for o in objects:
        if o.last_modified > now - settle:
            continue  # still being written / clock skew: next tick
        tenant, day = route_of_key(o.key)
        if tenant != UNROUTED and (
            tenant not in known_tenants or day is None or not min_day.isoformat() <= day <= max_day.isoformat()
        ):
            tenant, day = UNROUTED, None
        if tenant != UNROUTED and o.key.endswith("." + SIDECAR_EXTENSION):
            # A sidecar travels with its recording. One whose recording never
            # came is handled like a straggler: requested (and quarantined as
            # an orphan) once it is old enough.
            if o.key in owned_sidecars or o.last_modified >= now - straggler_after:
                continue
        route = (tenant, day or now.date().isoformat())
        if (o.last_modified, o.key) > pos:
            fresh.append((o.last_modified, o.key, o.etag, route))
        elif o.last_modified < now - straggler_after:
            stragglers.append((o.last_modified, o.key, o.etag, route))
    fresh.sort()
    plan.new_objects = len(fresh)
    taken = fresh[:limit]
    plan.pending_after_limit = len(fresh) - len(taken)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for _lm, key, etag, route in taken:
        groups.setdefault(route, []).append((key, etag))
    for (tenant, day), objs in sorted(groups.items()):
        for i in range(0, len(objs), batch_size):
            chunk = objs[i : i + batch_size]
            plan.batches.append(Batch(tenant, day, tuple(k for k, _ in chunk), _run_key(tenant, day, chunk)))
    for _lm, key, etag, (tenant, day) in sorted(stragglers)[: max(0, limit - len(taken))]:
        plan.batches.append(Batch(tenant, day, (key,), f"straggler:{_run_key(tenant, day, [(key, etag)])}", True))
    if taken:
        lm, key = taken[-1][0], taken[-1][1]
        plan.cursor = Cursor(lm, key)
    if not plan.batches:
        plan.skip_reason = (
            "inbox empty"
            if not fresh and not stragglers and cursor is None
            else f"no new objects in the inbox since {pos[0].isoformat()}"
        )
    return plan


def key_digest(secret: str, key: str) -> str:
    """A received key as the inbox sensor hands it to a run (P16, P17): keyed and short, so neither a
    call id nor a phone number someone used as a file name reaches Dagster's run storage, which
    cannot be erased per call."""
    import hashlib
    import hmac

    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()[:24]
