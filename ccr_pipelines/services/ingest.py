"""Ingest a batch of received objects into the call manifest (P1, P3, P4, P18).

Commit protocol, so that a crash at any point loses nothing and doubles nothing:

1. probe each object (download to a temp file, sha256, PyAV decode, sidecar);
2. copy it to its destination (``audio/`` when accepted, ``quarantine/`` with a
   reason record when rejected) and confirm the copy by size;
3. write the tenant-day manifest partition (merge by call id, atomic replace);
4. write the ledger rows (``ingest_events``) and lineage in one transaction —
   the commit point;
5. delete the inbox originals.

A retry after a crash re-does steps 1-3 idempotently for objects without a
ledger row and only step 5 for objects that have one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from ..core import catalog
from ..core.ingest import (
    UNROUTED,
    Outcome,
    RawKey,
    Reason,
    Rejected,
    accounting,
    identifiers_in_key,
    is_safe_key,
    key_digest_of,
    manifest_row,
    parse_raw_key,
    parse_sidecar,
    route_of_key,
    safe_key,
    sidecar_candidate,
)
from ..core.settings import IngestSettings, field_default
from ..core.subjects import subject_hashes
from ..core.tenants import TenantRegistry
from ..loaders import audio_files as audio_probe
from ..stores import ledger as ledger_store
from ..stores import subjects as subjects_store
from ..stores.access import TenantObjects
from ..stores.control_store import ControlStore, utcnow
from ..stores.object_store import ObjectInfo, ObjectStore
from ..stores.warehouse import Warehouse

# The dataset this service writes (core/catalog.py); the two names stay for callers that used them.
MANIFEST_DATASET, MANIFEST_SCHEMA = catalog.CALL_MANIFEST.name, catalog.CALL_MANIFEST.schema
MANIFEST_ASSET = catalog.asset_path(catalog.CALL_MANIFEST_ASSET)
MIN_DAY = date(2024, 1, 1)  # first day of the daily partitions


@dataclass
class IngestEnv:
    store: ObjectStore
    control: ControlStore
    warehouse: Warehouse
    registry: TenantRegistry
    secret: str  # subject-hash key (P18)
    run_id: str
    max_duration_s: float = field_default(IngestSettings, "max_duration_s")
    max_object_bytes: int = field_default(IngestSettings, "max_object_bytes")
    region: str = "local"
    code_version: str = "dev"
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    orphan_sidecar_after: timedelta = timedelta(hours=1)
    log: Callable[[str], None] = lambda msg: None

    @property
    def actor(self) -> str:
        return f"dagster-run:{self.run_id}"


@dataclass
class BatchResult:
    tenant_id: str | None
    day: str | None
    received: int = 0
    outcomes: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    manifest_rows: int = 0
    partition_object: str | None = None
    accounting_ok: bool = True
    accounting: dict = field(default_factory=dict)
    missing: int = 0
    rebuilt: int = 0

    def metadata(self) -> dict:
        """Counts only: safe for Dagster metadata (no keys, no personal data)."""
        return {
            "tenant_id": self.tenant_id or UNROUTED,
            "day": self.day or "",
            "received": self.received,
            **{o.value: self.outcomes.get(o.value, 0) for o in Outcome},
            "quarantine_reasons": dict(sorted(self.reasons.items())),
            "manifest_rows": self.manifest_rows,
            "missing": self.missing,
            "rebuilt": self.rebuilt,
        }


@dataclass
class _Decision:
    key: str
    safe: str
    info: ObjectInfo
    outcome: Outcome
    tenant_id: str | None
    day: str
    raw: RawKey | None = None
    reason: Reason | None = None
    detail: str = ""
    sha256: str | None = None
    quarantine_key: str | None = None
    sidecar_key: str | None = None  # inbox sidecar moved with the audio
    probe: dict | None = None
    sidecar: dict | None = None
    hashes: dict = field(default_factory=dict)
    tmp_path: str | None = None
    quarantine_hashes: dict = field(default_factory=dict)  # subject hash -> identifier type (P17)


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _ledger_rows_for(control: ControlStore, safe_keys: list[str]) -> list[dict]:
    return ledger_store.rows_for_keys(control, safe_keys)


def ingest_batch(
    env: IngestEnv,
    keys: list[str] | None,
    *,
    tenant_id: str | None = None,
    day: str | None = None,
    rebuild: bool = False,
) -> BatchResult:
    """Process *keys* (inbox objects of one tenant-day, or unroutable ones when tenant_id is None).

    With ``keys=None`` the whole inbox of ``tenant_id``/``day`` is processed; with
    ``rebuild=True`` the manifest partition is also rebuilt from the accepted
    audio of that day (an engineer's re-run of one tenant's day).
    """
    if keys is None:
        if not (tenant_id and day):
            raise ValueError("processing a whole inbox day needs tenant_id and day")
        keys = [o.key for o in env.store.list(catalog.inbox_day_prefix(tenant_id, day)) if not o.key.endswith(".json")]
    result = BatchResult(tenant_id=tenant_id, day=day)
    if tenant_id:
        keys = keys + _orphan_sidecars(env, tenant_id, day, keys) if day else keys
    with tempfile.TemporaryDirectory(prefix="ccr-ingest-") as tmp:
        # 1. decide each object's fate (or find it finished by an earlier attempt)
        decisions, finished = _triage(env, keys, tmp, result)
        # 2. copy to destination, confirm
        now = utcnow()
        accepted_rows = _place(env, decisions, now, tmp)
    # 3. manifest partition (merge by call id; a rebuild starts from the audio zone)
    if tenant_id and day and (accepted_rows or rebuild):
        _write_manifest(env, result, tenant_id, day, accepted_rows, rebuild=rebuild)
    elif accepted_rows:
        raise RuntimeError("accepted rows outside a tenant-day batch")  # routing bug, never user input
    # 4. commit: ledger + lineage + access log in one transaction
    _commit(env, decisions, result.partition_object, now)
    # 5. remove inbox originals (and sidecars that travelled with them)
    _clear_inbox(env, decisions, finished)
    # 6. accounting from the ledger itself, not from in-memory counters
    _account(env, result, decisions, finished)
    if tenant_id and day and not accepted_rows and not rebuild:
        existing = env.warehouse.read_partition(MANIFEST_DATASET, tenant_id, day)
        result.manifest_rows = existing.num_rows if existing is not None else 0
    return result


def _triage(
    env: IngestEnv, keys: list[str], tmp: str, result: BatchResult
) -> tuple[list[_Decision], list[tuple[str, dict]]]:
    """Each key's decision, or (key, ledger row) when an earlier attempt committed it already; a key gone
    from the inbox with no ledger row counts as missing."""
    prior = {
        (r["source_key"], r["etag"]): r for r in _ledger_rows_for(env.control, [safe_key(k, env.secret) for k in keys])
    }
    prior_by_key = {}
    for (sk, _etag), row in prior.items():
        prior_by_key[sk] = row
    decisions: list[_Decision] = []
    finished: list[tuple[str, dict]] = []  # (key, ledger row) already committed by an earlier attempt
    seen_sha: dict[str, str] = {}
    max_day = env.today + timedelta(days=1)
    for i, key in enumerate(keys):
        safe = safe_key(key, env.secret)
        try:
            info = env.store.head(key, received=True)
        except ValueError:
            info = None
        if info is None:
            row = prior_by_key.get(safe)
            if row is not None:
                finished.append((key, row))
            else:
                result.missing += 1
            continue
        if (safe, info.etag) in prior:
            finished.append((key, prior[(safe, info.etag)]))
            continue
        decisions.append(_decide(env, key, safe, info, os.path.join(tmp, f"{i}.bin"), seen_sha, max_day))
    return decisions, finished


def _place(env: IngestEnv, decisions: list[_Decision], now: datetime, tmp: str) -> list[dict]:
    """Accepted audio to its zone, the rest to quarantine; the accepted calls' manifest rows."""
    accepted_rows = []
    for d in decisions:
        if d.outcome is Outcome.ACCEPTED:
            accepted_rows.append(_accept(env, d, now))
        elif d.outcome is Outcome.QUARANTINED:
            _quarantine(env, d, now, tmp)
    return accepted_rows


def _write_manifest(
    env: IngestEnv, result: BatchResult, tenant_id: str, day: str, accepted_rows: list[dict], *, rebuild: bool
) -> None:
    base = _rebuild_rows(env, tenant_id, day) if rebuild else _existing_rows(env, tenant_id, day)
    result.rebuilt = len(base) if rebuild else 0
    merged = {r["call_id"]: r for r in base}
    merged.update({r["call_id"]: r for r in accepted_rows})
    rows = [merged[c] for c in sorted(merged)]
    info = env.warehouse.write_partition(
        MANIFEST_DATASET, tenant_id, day, pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
    )
    result.partition_object = info.key
    result.manifest_rows = len(rows)


def _commit(env: IngestEnv, decisions: list[_Decision], partition_object: str | None, now: datetime) -> None:
    """The ledger, lineage, access-log and subject-index rows of the batch, in one transaction."""
    ledger = [_ledger_row(env, d, now) for d in decisions]
    lineage_rows = _lineage_rows(env, decisions, partition_object, now)
    access_rows = [
        dict(
            at=now,
            actor=env.actor,
            tenant_id=d.tenant_id or UNROUTED,
            action="ingest",
            purpose="ingestion",
            object=d.safe,
            run_id=env.run_id,
        )
        for d in decisions
    ]
    subject_rows = [
        dict(tenant_id=d.tenant_id, subject_hash=h, identifier_type=t, call_id=d.raw.call_id, day=d.day, created_at=now)
        for d in decisions
        if d.outcome is Outcome.ACCEPTED
        for t, h in sorted(d.hashes.items())
    ]
    # P17: a quarantined upload that names a subject (sidecar or key) is found by the erasure's index too
    quarantine_rows = [
        dict(
            tenant_id=d.tenant_id,
            subject_hash=h,
            identifier_type=t,
            day=d.day,
            created_at=now,
            entry=catalog.quarantine_entry_of(d.quarantine_key),
        )
        for d in decisions
        if d.outcome is Outcome.QUARANTINED and d.tenant_id and d.quarantine_key
        for h, t in sorted(d.quarantine_hashes.items())
    ]
    ledger_store.commit_batch(
        env.control,
        ledger=ledger,
        lineage_rows=lineage_rows,
        access_rows=access_rows,
        subject_rows=subject_rows,
        quarantine_rows=quarantine_rows,
    )


def _clear_inbox(env: IngestEnv, decisions: list[_Decision], finished: list[tuple[str, dict]]) -> None:
    for d in decisions:
        env.store.delete(d.key, received=True)
        if d.sidecar_key:
            env.store.delete(d.sidecar_key, received=True)
    for key, row in finished:
        env.store.delete(key, received=True)
        sidecar = sidecar_candidate(key)
        if sidecar != key and _sidecar_travelled(env.store, row):
            env.store.delete(sidecar, received=True)


def _account(env: IngestEnv, result: BatchResult, decisions: list[_Decision], finished: list[tuple[str, dict]]) -> None:
    """Outcomes and reasons from the committed ledger rows; received = accepted + quarantined + duplicates
    + suppressed, no object counted twice."""
    committed = _ledger_rows_for(
        env.control, [d.safe for d in decisions] + [safe_key(k, env.secret) for k, _ in finished]
    )
    wanted = {(d.safe, d.info.etag) for d in decisions} | {(r["source_key"], r["etag"]) for _, r in finished}
    per_object = Counter((r["source_key"], r["etag"]) for r in committed if (r["source_key"], r["etag"]) in wanted)
    doubled = sum(1 for c in per_object.values() if c > 1)
    for r in committed:
        if (r["source_key"], r["etag"]) in wanted:
            result.outcomes[r["outcome"]] += 1
            if r["reason"]:
                result.reasons[r["reason"]] += 1
    result.received = len(decisions) + len(finished) + result.missing
    ok, counts = accounting(result.received, result.outcomes)
    result.accounting_ok = ok and doubled == 0
    result.accounting = {**counts, "missing": result.missing, "doubled": doubled}


def ledger_status(control: ControlStore, tenant_id: str | None = None) -> list[dict]:
    """``ccr ingest status``: the ledger's rows per tenant, day, outcome and reason (``n``)."""
    return ledger_store.outcome_counts(control, tenant_id)


def resolve_key_digests(
    store: ObjectStore, control: ControlStore, tenant_id: str | None, day: str, digests: list[str], secret: str
) -> list[str]:
    """The keys whose digests the sensor sent (``tenant_id`` None: the unroutable batch): those still in
    the inbox, and those an earlier attempt of this batch already handled (they left the inbox; the
    ledger has them, so the retry reports them as finished instead of losing them — a killed run's retry
    must give the same materialization)."""
    from ..core.ingest_sensor import key_digest

    if not digests:
        return []
    wanted = set(digests)
    prefix = catalog.inbox_day_prefix(tenant_id, day) if tenant_id else "raw/"
    found = {k for k in (o.key for o in store.list(prefix)) if key_digest(secret, k) in wanted}
    if len(found) < len(wanted):  # only a retry reads the ledger (a tenant-day may hold many rows)
        # the ledger holds the key itself for every key without personal data (safe_key); the others
        # were quarantined and are found in the inbox until their run commits
        found |= {
            k
            for k in ledger_store.source_keys(control, tenant_id, day)
            if k.startswith(prefix) and key_digest(secret, k) in wanted
        }
    return sorted(found)


# ---------------------------------------------------------------------------
def _orphan_sidecars(env: IngestEnv, tenant_id: str, day: str, keys: list[str]) -> list[str]:
    """Sidecars in the inbox whose audio never came (after a grace period) are quarantined too."""
    listing = list(env.store.list(catalog.inbox_day_prefix(tenant_id, day)))
    owned = {sidecar_candidate(o.key) for o in listing if not o.key.endswith(".json")}
    owned |= {sidecar_candidate(k) for k in keys}
    cutoff = utcnow() - env.orphan_sidecar_after
    return [o.key for o in listing if o.key.endswith(".json") and o.key not in owned and o.last_modified < cutoff]


def _decide(
    env: IngestEnv, key: str, safe: str, info: ObjectInfo, tmp_path: str, seen_sha: dict[str, str], max_day: date
) -> _Decision:
    d = _Decision(key=key, safe=safe, info=info, outcome=Outcome.QUARANTINED, tenant_id=None, day=env.today.isoformat())
    # Whatever becomes of an object, a same-stem sidecar beside it shares its fate.
    if not key.endswith(".json"):
        candidate = sidecar_candidate(key)
        try:
            d.sidecar_key = candidate if env.store.head(candidate, received=True) else None
        except ValueError:
            d.sidecar_key = None
    try:
        raw = parse_raw_key(key, min_day=MIN_DAY, max_day=max_day)
        d.raw, d.day = raw, raw.day.isoformat()
        tenant = env.registry.get(raw.tenant_id)
        if tenant is None:
            raise Rejected(Reason.UNKNOWN_TENANT, "tenant is not in the registry")
        d.tenant_id = tenant.id
        if raw.is_sidecar:
            raise Rejected(Reason.ORPHAN_SIDECAR, "sidecar without a recording")
        if not tenant.active:
            raise Rejected(Reason.SUSPENDED_TENANT, "tenant is suspended or terminated (P12)")
        if info.size == 0:
            raise Rejected(Reason.EMPTY_FILE, "zero bytes")
        if info.size > env.max_object_bytes:
            raise Rejected(Reason.TOO_LARGE, f"{info.size} bytes exceeds {env.max_object_bytes}")
        env.store.download_file(key, tmp_path)
        d.sha256 = _sha256_file(tmp_path)
        d.probe = audio_probe.probe(tmp_path, max_duration_s=env.max_duration_s)
        d.sidecar = parse_sidecar(env.store.get_bytes(raw.sidecar_key)) if d.sidecar_key else None
        sc = d.sidecar or {}
        d.hashes = subject_hashes(
            env.secret,
            tenant.id,
            {
                "phone": sc.get("customer_phone"),
                "email": sc.get("customer_email"),
                "customer_ref": sc.get("customer_ref"),
            },
        )
        if d.hashes and _is_suppressed(env.control, tenant.id, list(d.hashes.values())):
            d.outcome, d.detail = Outcome.SUPPRESSED, "subject on the suppression list (P18)"
            return d
        dup_of = seen_sha.get(d.sha256) or _accepted_with_sha(env.control, tenant.id, d.sha256)
        if dup_of:
            d.outcome, d.detail = Outcome.DUPLICATE, f"same audio as call {dup_of}"
            return d
        seen_sha[d.sha256] = raw.call_id
        d.outcome = Outcome.ACCEPTED
        d.tmp_path = tmp_path
        return d
    except Rejected as rej:
        d.outcome, d.reason, d.detail = Outcome.QUARANTINED, rej.reason, rej.detail
        if d.reason is Reason.UNKNOWN_TENANT:
            d.tenant_id = None
        elif d.raw is None:
            # The key broke a rule but may still name a known tenant and a valid day:
            # then the quarantine record belongs to that tenant (its retention, its erasure).
            tenant, day = route_of_key(key)
            if env.registry.get(tenant) is not None and day and MIN_DAY.isoformat() <= day <= max_day.isoformat():
                d.tenant_id, d.day = tenant, day
        return d


def _sidecar_travelled(store: ObjectStore, row: dict) -> bool:
    """Whether a committed object's inbox sidecar was consumed with it (finishing an interrupted run)."""
    if row["outcome"] != Outcome.QUARANTINED.value:
        return True
    q = row["quarantine_key"]
    return bool(q) and store.exists(catalog.quarantine_entry_of(q) + catalog.QUARANTINE_SIDECAR)


def _is_suppressed(control: ControlStore, tenant_id: str, hashes: list[str]) -> bool:
    return subjects_store.is_suppressed(control, tenant_id, hashes)


def _accepted_with_sha(control: ControlStore, tenant_id: str, sha: str) -> str | None:
    return ledger_store.accepted_call_with_sha(control, tenant_id, sha)


def _accept(env: IngestEnv, d: _Decision, now: datetime) -> dict:
    raw = d.raw
    assert raw is not None and d.tenant_id
    audio_key = catalog.audio_key(d.tenant_id, d.day, raw.call_id, raw.extension)
    with TenantObjects(
        env.store, env.control, d.tenant_id, actor=env.actor, purpose="ingestion", run_id=env.run_id
    ) as objs:
        put = objs.put_file(audio_key, d.tmp_path)
        if put.size != d.info.size:
            raise OSError("audio copy size mismatch")  # never delete the original then
        if d.sidecar_key:
            objs.put_bytes(
                catalog.audio_sidecar_key(d.tenant_id, d.day, raw.call_id), env.store.get_bytes(d.sidecar_key)
            )
    return manifest_row(
        raw=raw,
        audio_key=audio_key,
        etag=d.info.etag,
        sha256=d.sha256,
        size=d.info.size,
        probe=d.probe,
        sidecar=d.sidecar,
        hashes=d.hashes,
        ingested_at=now,
        run_id=env.run_id,
    )


def _quarantine(env: IngestEnv, d: _Decision, now: datetime, tmp: str) -> None:
    """Copy the object (and its sidecar) to quarantine with a reason record; confirm the copy."""
    area = d.tenant_id or UNROUTED
    token = hashlib.blake2b(f"{d.safe}@{d.info.etag}".encode(), digest_size=8).hexdigest()
    local = os.path.join(tmp, f"q-{token}")
    env.store.download_file(d.key, local, received=True)
    copied = env.store.put_file(catalog.quarantine_key(area, d.day, token, catalog.QUARANTINE_OBJECT), local)
    if copied.size != d.info.size:
        raise OSError("quarantine copy size mismatch")  # the original stays in the inbox
    sidecar_body = None
    if d.sidecar_key:
        sidecar_body = env.store.get_bytes(d.sidecar_key, received=True)
        env.store.put_bytes(catalog.quarantine_key(area, d.day, token, catalog.QUARANTINE_SIDECAR), sidecar_body)
    if d.tenant_id:
        d.quarantine_hashes = quarantine_subject_hashes(env.secret, d.tenant_id, d.key, sidecar_body)
    safe = is_safe_key(d.key)
    record = {
        # P4, P17: the original key may itself be personal data (a phone number as a file name):
        # an unsafe key is kept as its token and a keyed digest, never in clear.
        "source_key": d.key if safe else d.safe,
        "source_key_digest": None if safe else key_digest_of(d.key, env.secret),
        "etag": d.info.etag,
        "size": d.info.size,
        "reason": d.reason.value if d.reason else None,
        "detail": d.detail,
        "tenant_id": d.tenant_id,
        "run_id": env.run_id,
        "at": now.isoformat(),
        "has_sidecar": bool(d.sidecar_key),
    }
    env.store.put_bytes(
        catalog.quarantine_key(area, d.day, token, catalog.QUARANTINE_REASON), json.dumps(record, indent=1).encode()
    )
    d.quarantine_key = catalog.quarantine_key(area, d.day, token, catalog.QUARANTINE_OBJECT)


def quarantine_subject_hashes(secret: str, tenant_id: str, key: str, sidecar: bytes | None) -> dict[str, str]:
    """Keyed hashes of the identifiers a quarantined upload carries: its sidecar's customer fields
    (read even when the sidecar broke the schema) and phone numbers / e-mails in its key (P17)."""
    from ..core.subjects import subject_hash

    found: list[tuple[str, str]] = []
    if sidecar:
        try:
            doc = json.loads(sidecar)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            for field_, kind in (
                ("customer_phone", "phone"),
                ("customer_email", "email"),
                ("customer_ref", "customer_ref"),
            ):
                if isinstance(doc.get(field_), str) and doc[field_]:
                    found.append((kind, doc[field_]))
    for kind, values in identifiers_in_key(key).items():
        found += [(kind, v) for v in values]
    out = {}
    for kind, value in found:
        try:
            out[subject_hash(secret, tenant_id, kind, value)] = kind
        except ValueError:
            continue
    return out


def _ledger_row(env: IngestEnv, d: _Decision, now: datetime) -> dict:
    call_id = d.raw.call_id if d.raw and d.reason is not Reason.PERSONAL_DATA_IN_KEY else None
    return dict(
        at=now,
        run_id=env.run_id,
        tenant_id=d.tenant_id,
        partition_key=d.day,
        source_key=d.safe,
        etag=d.info.etag,
        outcome=d.outcome.value,
        reason=d.reason.value if d.reason else None,
        detail=d.detail or None,
        call_id=call_id,
        sha256=d.sha256,
        quarantine_key=d.quarantine_key,
    )


def _lineage_rows(
    env: IngestEnv, decisions: list[_Decision], partition_object: str | None, now: datetime
) -> list[dict]:
    import av

    rows = []
    for d in decisions:
        if d.outcome is not Outcome.ACCEPTED:
            continue
        audio_key = catalog.audio_key(d.tenant_id, d.day, d.raw.call_id, d.raw.extension)
        common = dict(
            tenant_id=d.tenant_id,
            call_id=d.raw.call_id,
            run_id=env.run_id,
            code_version=env.code_version,
            engine=f"pyav {av.__version__}",
            region=env.region,
            sha256=d.sha256,
            created_at=now,
        )
        rows.append(
            dict(
                common,
                artefact_kind="audio",
                artefact_uri=env.store.uri(audio_key),
                source_uri=env.store.uri(d.key),
                asset_key=MANIFEST_ASSET,
                partition_key=d.day,
            )
        )
        if partition_object:
            rows.append(
                dict(
                    common,
                    artefact_kind="manifest_row",
                    artefact_uri=f"{env.store.uri(partition_object)}#{d.raw.call_id}",
                    source_uri=env.store.uri(audio_key),
                    asset_key=MANIFEST_ASSET,
                    partition_key=d.day,
                )
            )
    return rows


def _existing_rows(env: IngestEnv, tenant_id: str, day: str) -> list[dict]:
    table = env.warehouse.read_partition(MANIFEST_DATASET, tenant_id, day)
    return table.to_pylist() if table is not None else []


def _rebuild_rows(env: IngestEnv, tenant_id: str, day: str) -> list[dict]:
    """Manifest rows re-derived from the accepted audio of a tenant-day (an engineer's re-run)."""
    from ..core.ingest import AUDIO_EXTENSIONS

    previous = {r["call_id"]: r for r in _existing_rows(env, tenant_id, day)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="ccr-rebuild-") as tmp:
        for obj in env.store.list(catalog.audio_day_prefix(tenant_id, day)):
            call_id, ext = obj.key.rsplit("/", 1)[1].rsplit(".", 1)
            if ext not in AUDIO_EXTENSIONS:
                continue
            local = os.path.join(tmp, "a.bin")
            env.store.download_file(obj.key, local)
            probe = audio_probe.probe(local, max_duration_s=env.max_duration_s)
            sc_key = catalog.audio_sidecar_key(tenant_id, day, call_id)
            sidecar = parse_sidecar(env.store.get_bytes(sc_key)) if env.store.exists(sc_key) else None
            sc = sidecar or {}
            hashes = subject_hashes(
                env.secret,
                tenant_id,
                {
                    "phone": sc.get("customer_phone"),
                    "email": sc.get("customer_email"),
                    "customer_ref": sc.get("customer_ref"),
                },
            )
            prev = previous.get(call_id, {})
            raw = RawKey(
                key=prev.get("source_key") or catalog.inbox_key(tenant_id, day, call_id, ext),
                tenant_id=tenant_id,
                day=date.fromisoformat(day),
                call_id=call_id,
                extension=ext,
            )
            rows.append(
                manifest_row(
                    raw=raw,
                    audio_key=obj.key,
                    etag=prev.get("etag") or obj.etag,
                    sha256=_sha256_file(local),
                    size=obj.size,
                    probe=probe,
                    sidecar=sidecar,
                    hashes=hashes,
                    ingested_at=utcnow(),
                    run_id=env.run_id,
                )
            )
    return rows
