"""Data-subject requests (P16, P17, P18): export, erasure, restriction, suppression, and the DSR log.

A request is registered with the subject's identifiers (phone, e-mail, customer reference); only
their keyed hashes are stored (``dsr_requests.subject_hashes``) and everything after that works
from the hashes: the subject's calls come from the ``subject_calls`` index (one lookup), so the
work is proportional to the subject's data, not to the tenant's.

Erasure deletes the subject's audio and sidecars, raw transcripts, every row of the subject's calls
in every Parquet dataset (partitions rewritten, older object versions dropped), review-queue and
index rows, earlier export bundles, quarantined uploads whose sidecar or key names the subject,
lineage-lookup answers under ``exports/{tenant}/lineage/`` that name the calls, the calls' datasets
in the OpenLineage files (rewritten), and regenerates the reports that listed the calls; the marts
are rebuilt. A verification scan then reads every store back — object store including old
versions (every zone, quarantine and exports included), Parquet, the DuckDB marts file, reports,
control store, Dagster's run storage, the OpenLineage files — and must find no remaining
occurrence of the call ids or identifiers (R2 incident otherwise). The receipt
(``dsr_requests.proof``) lists each deletion by store and location, every location the scan read,
and the backups that still hold the subject until they expire; call ids are masked as
``<call-N>`` so that the receipt itself holds none. The erasure is appended to the erasure ledger
(``services/erasure_ledger.py``), which every backup restore re-applies.

Every entry point — ``ccr dsr``, the Dagster jobs, ``benchmarks/erasure.py`` — builds its
environment with ``erasure_env``, so the scan reads the same stores whoever runs it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from ..core import catalog
from ..core.backup import DEFAULT_KEEP_DAYS
from ..core.errors import CcrError
from ..core.incidents import Signal
from ..core.report_periods import PERIOD_KINDS, period_containing, period_from_partition
from ..core.retention import ALL_DATASETS, dsr_due, overdue, report_period_end
from ..core.subjects import IDENTIFIER_TYPES, normalise, subject_hash
from ..core.tenants import TenantRegistry
from ..stores import dsr_log
from ..stores import subjects as subjects_store
from ..stores.control_store import ControlStore, utcnow
from ..stores.object_store import ObjectStore
from ..stores.warehouse import Warehouse, partition_key

KINDS = ("export", "erasure", "restriction", "suppression")
EXPORT_SCHEMA_VERSION = "ccr-dsr-export/1"
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "dsr_export.schema.json"
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE_RE = re.compile(r"(?:\+|00)?\d[\d .\-()]{7,18}\d")
_FILE_EXT_RE = re.compile(r"\.(?:wav|flac|mp3|ogg|opus|json|aiff|bin)$", re.IGNORECASE)


class DsrError(CcrError, ValueError):
    """A request that cannot be carried out (unknown id, wrong kind, no identifier); no personal data."""


class RunStorage(Protocol):
    """Dagster's run storage as the verification scan reads it: one text per run (its config, tags and
    event log). The adapter over a Dagster instance is ``defs/shared/run_storage.py``: services import
    no Dagster."""

    source: str  # where it comes from, for the receipt ("the running job's instance", "DAGSTER_HOME"…)

    def run_texts(self) -> Iterable[str]: ...


@dataclass
class DsrEnv:
    store: ObjectStore
    warehouse: Warehouse
    control: ControlStore
    registry: TenantRegistry
    secret: str  # subject-hash key
    actor: str = "ccr dsr"
    run_id: str | None = None
    region: str = "local"
    rebuild_marts: Callable[[], None] | None = None
    marts_path: Path | None = None  # the DuckDB file the scan reads
    run_storage: RunStorage | None = None  # Dagster's runs, scanned for call ids / identifiers when given
    alert_settings: object | None = None  # services.alerting.AlertSettings: where R2 / R12 incidents page
    now: Callable[[], datetime] = utcnow
    backup_keep_days: int = DEFAULT_KEEP_DAYS  # backups hold an erased subject until they expire (receipt)
    dagster_source: str = "none"  # where the Dagster run storage the scan reads comes from (receipt)


def erasure_env(
    store: ObjectStore,
    control: ControlStore,
    registry: TenantRegistry,
    secret: str,
    *,
    actor: str,
    run_id: str | None = None,
    region: str = "local",
    run_storage: RunStorage | None = None,
    alert_settings: object | None = None,
    backup_keep_days: int = DEFAULT_KEEP_DAYS,
    rebuild_marts: Callable[[], None] | None | str = "auto",
) -> DsrEnv:
    """P17: THE environment of every data-subject request, whoever runs it (``ccr dsr``, the Dagster
    jobs, the benchmark), so the verification scan reads the same stores every time.

    - object store (every zone, every version) and the Parquet datasets in it;
    - the DuckDB marts file beside a local store's root (``CCR_DUCKDB_PATH`` elsewhere), rebuilt after
      an erasure where dbt can read the datasets (a local store);
    - Dagster's run storage, as *run_storage* reads it (``defs/shared/run_storage``: the running job's
      instance, else the instance in the data dir's ``dagster_home`` or ``$DAGSTER_HOME``);
    - the backups' expiry, from the backup retention setting."""
    from .marts import marts_file, marts_rebuilder

    marts_path = marts_file(store)
    if rebuild_marts == "auto":
        rebuild_marts = marts_rebuilder(store, control)
    return DsrEnv(
        store=store,
        warehouse=Warehouse(store),
        control=control,
        registry=registry,
        secret=secret,
        actor=actor,
        run_id=run_id,
        region=region,
        rebuild_marts=rebuild_marts,
        marts_path=marts_path,
        run_storage=run_storage,
        alert_settings=alert_settings,
        backup_keep_days=backup_keep_days,
        dagster_source=run_storage.source if run_storage is not None else "none",
    )


# -- the DSR log ---------------------------------------------------------------
def register(
    env: DsrEnv, tenant_id: str, kind: str, identifiers: dict[str, str], *, received_at: datetime | None = None
) -> int:
    """Log a request (P16): keyed hashes of every identifier, received date and the one-month deadline."""
    if kind not in KINDS:
        raise DsrError(f"unknown request kind {kind!r}")
    env.registry.require(tenant_id, active=False)
    hashes = {}
    for t, v in identifiers.items():
        if t not in IDENTIFIER_TYPES:
            raise DsrError(f"unknown identifier type {t!r}")
        if v:
            try:
                hashes[t] = subject_hash(env.secret, tenant_id, t, v)
            except ValueError:
                raise DsrError(f"the {t} given is not valid") from None
    if not hashes:
        raise DsrError("a request needs at least one identifier (phone, email or customer_ref)")
    received_at = received_at or env.now()
    return dsr_log.add_request(
        env.control,
        tenant_id=tenant_id,
        kind=kind,
        hashes=hashes,
        received_at=received_at,
        due_at=dsr_due(received_at),
        actor=env.actor,
    )


def list_requests(env: DsrEnv, tenant_id: str | None = None) -> list[dict]:
    """The DSR log (``ccr dsr list``): every request in id order, or one tenant's."""
    return dsr_log.list_requests(env.control, tenant_id)


def get_request(env: DsrEnv, request_id: int, kind: str | None = None) -> dict:
    req = dsr_log.get_request(env.control, request_id)
    if req is None:
        raise DsrError(f"no data-subject request {request_id}")
    if kind and req["kind"] != kind:
        raise DsrError(f"request {request_id} is a {req['kind']} request, not {kind}")
    return req


def extend(env: DsrEnv, request_id: int, reason: str) -> datetime:
    """Art. 12(3): extend by two further months (once), with the reason kept."""
    req = get_request(env, request_id)
    if req["extended_at"] is not None:
        raise DsrError(f"request {request_id} was already extended")
    due = dsr_due(_aware(req["requested_at"]), extended=True)
    dsr_log.update_request(env.control, request_id, extended_at=env.now(), extension_reason=reason[:300], due_at=due)
    return due


def _complete(env: DsrEnv, request_id: int, proof: dict, status: str = "completed") -> None:
    """Write the receipt; ``completed_at`` only for a request that is done (a failed scan is not)."""
    done = status in ("completed", "lifted")
    dsr_log.update_request(
        env.control, request_id, status=status, completed_at=env.now() if done else None, proof=proof, run_id=env.run_id
    )


def check_overdue(env: DsrEnv, *, alert_settings=None, now: datetime | None = None) -> list[int]:
    """Requests past their deadline and not completed; each raises an R12 incident (P16)."""
    now = now or env.now()
    rows = dsr_log.open_requests(env.control)
    late = [r for r in rows if overdue(_aware(r["due_at"]), now)]
    if late and alert_settings is not None:
        from .alerting import handle_signal

        by_tenant = defaultdict(list)
        for r in late:
            by_tenant[r["tenant_id"]].append(r["id"])
        for tenant, ids in sorted(by_tenant.items()):
            handle_signal(
                env.control,
                Signal(
                    "dsr_overdue",
                    f"dsr:{tenant}",
                    (tenant,),
                    counts={"requests": len(ids)},
                    late_by=now - min(_aware(r["due_at"]) for r in late if r["tenant_id"] == tenant),
                ),
                settings=alert_settings,
                registry=env.registry,
                now=now,
            )
    return sorted(r["id"] for r in late)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


# -- resolution ----------------------------------------------------------------
def subject_calls_of(env: DsrEnv, req: dict) -> list[dict]:
    return env.control.calls_of_subject(req["tenant_id"], req["subject_hashes"] or [req["subject_hash"]])


def _days(calls: list[dict]) -> dict[str, set[str]]:
    by_day: dict[str, set[str]] = defaultdict(set)
    for c in calls:
        by_day[c["day"]].add(c["call_id"])
    return by_day


def _call_prefixes(tenant_id: str, call_id: str, day: str) -> list[str]:
    return [
        catalog.call_audio_prefix(tenant_id, day, call_id),
        catalog.call_playback_prefix(tenant_id, day, call_id),
        catalog.call_inbox_prefix(tenant_id, day, call_id),
        catalog.call_transcripts_prefix(tenant_id, day, call_id),
    ]


def _day_prefixes(tenant_id: str, day: str) -> tuple[tuple[str, str], ...]:
    """(zone, prefix) of the per-day object folders that may hold a call's objects."""
    return (
        ("audio", catalog.audio_day_prefix(tenant_id, day)),
        ("playback", catalog.playback_day_prefix(tenant_id, day)),
        ("raw", catalog.inbox_day_prefix(tenant_id, day)),
        ("restricted", catalog.transcripts_day_prefix(tenant_id, day)),
    )


def _affected_reports(env: DsrEnv, tenant_id: str, days: Iterable[str], call_ids: set[str]) -> list[tuple[str, str]]:
    """(kind, period key) of every delivered report whose manifest lists one of the calls."""
    out = set()
    for day in days:
        for kind in PERIOD_KINDS:
            period = period_containing(kind, date.fromisoformat(day))
            key = catalog.report_key(tenant_id, kind, period.key, "manifest.json")
            if (kind, period.key) in out or not env.store.exists(key):
                continue
            manifest = json.loads(env.store.get_bytes(key))
            if {c["call_id"] for c in manifest.get("calls", [])} & call_ids:
                out.add((kind, period.key))
    return sorted(out)


def _rows(table: pa.Table | None, call_ids: set[str]) -> list[dict]:
    if table is None or not table.num_rows:
        return []
    mask = pc.is_in(table.column("call_id"), value_set=pa.array(sorted(call_ids), pa.string()))
    return json.loads(json.dumps(table.filter(mask).to_pylist(), default=str))


# -- export (access, portability) ---------------------------------------------
def export(env: DsrEnv, request_id: int) -> dict:
    """P16: a machine-readable bundle under ``exports/{tenant}/dsr-{id}/`` (bundle.json + audio + transcripts)."""
    from ..stores.access import TenantObjects

    req = get_request(env, request_id, "export")
    tenant = env.registry.require(req["tenant_id"], active=False)
    calls = subject_calls_of(env, req)
    prefix = catalog.dsr_export_prefix(tenant.id, request_id).rstrip("/")
    by_day = _days(calls)
    data = _dataset_rows(env, tenant.id, by_day)
    restricted_now = subjects_store.is_restricted(env.control, tenant.id, req["subject_hashes"] or [])
    report_keys = _affected_reports(env, tenant.id, by_day, {c["call_id"] for c in calls})
    with TenantObjects(
        env.store, env.control, tenant.id, actor=env.actor, purpose=f"dsr export {request_id}", run_id=env.run_id
    ) as objects:
        out_calls = [
            _export_call(env, objects, tenant, prefix, c, data.get(c["call_id"], {}), report_keys) for c in calls
        ]
        reports = [{"kind": kind, "period": period, "retention_until": None} for kind, period in report_keys]
        bundle = {
            "schema": EXPORT_SCHEMA_VERSION,
            "request": {
                "id": request_id,
                "tenant_id": tenant.id,
                "kind": "export",
                "received_at": _aware(req["requested_at"]).isoformat(),
                "due_at": _aware(req["due_at"]).isoformat(),
                "generated_at": env.now().isoformat(),
            },
            "controller": {"tenant_id": tenant.id, "tenant_name": tenant.display_name},
            "processor": "CallCenterRate",
            "subject": {"identifier_types": req["identifier_types"] or [], "restricted": restricted_now},
            "calls": out_calls,
            "reports": reports,
            "retention_policy_days": {
                cls: tenant.retention(cls)
                for cls in ("audio", "raw_transcript", "redacted_transcript", "scores", "marts", "reports")
            },
        }
        for r in bundle["reports"]:
            kind, period = r["kind"], r["period"]
            end = report_period_end(catalog.report_prefix(tenant.id, kind, period))
            r["retention_until"] = (end + timedelta(days=tenant.retention("reports"))).isoformat() if end else None
        objects.put_bytes(
            f"{prefix}/bundle.json",
            json.dumps(bundle, indent=1, ensure_ascii=False, default=str).encode("utf-8"),
            action="export",
        )
    validate_bundle(bundle)
    _complete(
        env,
        request_id,
        {
            "calls": len(calls),
            "files": sum(len(c["files"]) for c in out_calls) + 1,
            "bundle": f"{prefix}/bundle.json",
            "reports": len(reports),
        },
    )
    return bundle


def _dataset_rows(env: DsrEnv, tenant_id: str, by_day: dict[str, set[str]]) -> dict[str, dict[str, list[dict]]]:
    """call id -> dataset -> the call's rows, from every dataset's partitions of the calls' days."""
    data: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for day, ids in sorted(by_day.items()):
        for zone, dataset in ALL_DATASETS:
            for row in _rows(env.warehouse.read_partition(dataset, tenant_id, day, zone=zone), ids):
                data[row["call_id"]][dataset].append(row)
    return data


_SEGMENT_FIELDS = ("segment_index", "speaker", "start_s", "end_s", "text")


def _export_call(
    env: DsrEnv, objects, tenant, prefix: str, c: dict, d: dict[str, list[dict]], report_keys: list[tuple[str, str]]
) -> dict:
    """Copy one call's files (audio, transcripts; not the inbox) into the bundle; its entry of bundle.json."""
    cid, day = c["call_id"], c["day"]
    files = []
    for p in _call_prefixes(tenant.id, cid, day):
        if p.startswith("raw/"):
            continue
        for info in env.store.list(p):
            name = info.key.rsplit("/", 1)[-1]
            kind = (
                "transcript-"
                if info.key.startswith("restricted/")
                else "playback-"
                if info.key.startswith("playback/")
                else ""
            )  # the silenced copy beside the original
            dst = f"{prefix}/files/{cid}/{kind}{name}"
            objects.put_bytes(dst, objects.get_bytes(info.key), action="export")
            files.append(dst[len(prefix) + 1 :])
    manifest = (d.get("call_manifest") or [{}])[0]
    manifest.pop("subject_hashes", None)
    day_d = date.fromisoformat(day)
    return {
        "call_id": cid,
        "day": day,
        "metadata": manifest,
        "files": files,
        "transcript_segments": [{k: s.get(k) for k in _SEGMENT_FIELDS} for s in d.get("transcript_segments", [])],
        "redacted_segments": [{k: s.get(k) for k in _SEGMENT_FIELDS} for s in d.get("redacted_segments", [])],
        "transcription": (d.get("transcript_calls") or [None])[0],
        "metrics": (d.get("call_metrics") or [None])[0],
        "score": (d.get("call_scores") or [None])[0],
        "score_steps": d.get("call_score_steps", []),
        # issue 19: what the conversation analytics derived from the call (sentiment, categories, card)
        "sentiment": (d.get(catalog.CALL_SENTIMENT.name) or [None])[0],
        "turn_sentiment": d.get(catalog.TURN_SENTIMENT.name, []),
        "categories": d.get(catalog.CALL_CATEGORIES.name, []),
        "call_card": (d.get(catalog.CALL_CARDS.name) or [None])[0],
        "retention_until": {
            cls: (day_d + timedelta(days=tenant.retention(cls))).isoformat()
            for cls in ("audio", "raw_transcript", "redacted_transcript", "scores")
        },
        "reports": [f"{k}:{p}" for k, p in report_keys if period_containing(k, day_d).key == p],
    }


def validate_bundle(bundle: dict) -> None:
    import jsonschema

    jsonschema.validate(bundle, json.loads(SCHEMA_PATH.read_text()))


# -- erasure -------------------------------------------------------------------
class _Masker:
    """Call ids in receipt locations become ``<call-N>``: the receipt keeps where, not which call."""

    def __init__(self, call_ids: Iterable[str]):
        self.ids = {cid: f"<call-{i + 1}>" for i, cid in enumerate(sorted(call_ids, key=len, reverse=True))}

    def __call__(self, text: str) -> str:
        for cid, token in self.ids.items():
            text = re.sub(rf"(?<![A-Za-z0-9_-]){re.escape(cid)}(?![A-Za-z0-9_-])", token, text)
        return text


def erase(env: DsrEnv, request_id: int) -> dict:
    """P17: delete the subject's data everywhere, regenerate affected reports, rebuild the marts, verify.

    Idempotent: run again after a crash it deletes what is left and scans again."""
    from . import erasure_ledger

    req = get_request(env, request_id, "erasure")
    tenant = env.registry.require(req["tenant_id"], active=False)
    t = tenant.id
    hashes = req["subject_hashes"] or [req["subject_hash"]]
    calls = _erasure_calls(env, request_id, req)
    er = _Erasure(env, request_id, t, calls, hashes)
    by_day = _days(calls)
    # P6, P17: the ledger first (outside the backups), so that even an erasure killed half-way is
    # re-applied by a restore; the receipt follows in a second entry at the end
    erasure_ledger.append(
        env.store,
        kind="erasure",
        tenant_id=t,
        secret=env.secret,
        request_id=request_id,
        subject_hashes=dict(zip(hashes, req["identifier_types"] or [])),
        call_ids=er.call_ids,
        reason="erasure",
    )
    reports = _affected_reports(env, t, by_day, er.call_ids)
    _erase_objects(er)  # 1. objects, exports, quarantine, lookup answers, OpenLineage files
    _erase_partitions(er, by_day)  # 2. Parquet
    _erase_control_rows(er)  # 3. control store
    regenerated = _regenerate_reports(er, tenant, reports)  # 4. reports
    # 5. marts are rebuilt from the rewritten partitions
    marts = False
    if env.rebuild_marts is not None and calls:
        env.rebuild_marts()
        marts = True
        er.note("marts", "warehouse.duckdb", rebuilt=True)
    # 6. P18: an erased subject must not come back through a later import
    suppressed = add_to_suppression_list(
        env.control, t, dict(zip(hashes, req["identifier_types"] or [])), reason="erasure", actor=env.actor, store=None
    )  # the erasure's ledger entry
    er.note("control_store", "suppression_list (added)", rows=suppressed)
    # 7. verification scan over every store: a NEW scan each run; only a passing one completes the request
    return _verify_and_complete(er, req, by_day, regenerated, marts)


@dataclass
class _Erasure:
    """One erasure run: its request, the subject's calls, and the receipt's list of deletions."""

    env: DsrEnv
    request_id: int
    tenant_id: str
    calls: list[dict]
    hashes: list[str]
    deleted: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.call_ids = {c["call_id"] for c in self.calls}
        self.mask = _Masker(self.call_ids)

    def note(self, store: str, location: str, **counts) -> None:
        self.deleted.append({"store": store, "location": self.mask(location), **counts})

    def log_delete(self, obj: str) -> None:
        self.env.control.log_access(
            actor=self.env.actor,
            tenant_id=self.tenant_id,
            action="delete",
            purpose=f"dsr erasure {self.request_id}",
            obj=obj,
            run_id=self.env.run_id,
        )


def _erasure_calls(env: DsrEnv, request_id: int, req: dict) -> list[dict]:
    """The subject's calls; a resumed erasure finds them in its first run's (private) working list if the
    index is gone already. The list is kept on the request row until the scan passes."""
    calls = subject_calls_of(env, req)
    calls = calls or (req.get("proof") or {}).get("_pending_calls") or []
    if calls and not (req.get("proof") or {}).get("_pending_calls"):
        dsr_log.update_request(env.control, request_id, status="in_progress", proof={"_pending_calls": calls})
    return calls


def _erase_objects(er: _Erasure) -> None:
    """Audio + sidecars, inbox leftovers, raw transcripts (every version); the subject's earlier export
    bundles, quarantined uploads and lineage-lookup answers; the calls' datasets in OpenLineage files."""
    env, t, hashes = er.env, er.tenant_id, set(er.hashes)
    # writes killed mid-way left unlisted temp files the scan cannot read: they go first (local store)
    for prefix in catalog.tenant_zone_prefixes(t):
        n = env.store.discard_partial_writes(prefix)
        if n:
            er.note("object_store", f"{prefix} (partial writes)", files=n)
    for c in er.calls:
        for p in _call_prefixes(t, c["call_id"], c["day"]):
            versions = list(env.store.list_versions(p))
            if versions:
                env.store.delete_versions(versions)
                for key in sorted({v.key for v in versions}):
                    er.note("object_store", key, versions=sum(1 for v in versions if v.key == key))
                    er.log_delete(er.mask(key))
    # earlier export bundles of this subject
    for other in dsr_log.requests_of_kind(env.control, t, "export"):
        if set(other["subject_hashes"] or []) & hashes:
            prefix = catalog.dsr_export_prefix(t, other["id"])
            n = env.store.delete_prefix_all_versions(prefix)
            if n:
                er.note("object_store", prefix, versions=n)
    # quarantined uploads naming the subject (index, and a read of the tenant's quarantine for older ones)
    for entry in sorted(_quarantine_matches(env, t, er.call_ids, hashes)):
        n = env.store.delete_prefix_all_versions(entry)
        if n:
            er.note("quarantine", entry, versions=n)
            er.log_delete(entry)
    # lineage-lookup answers (exports/{tenant}/lineage/) that name the calls or the subject
    for key in _export_matches(env, t, er.call_ids, hashes, lineage_only=True):
        n = env.store.delete_all_versions(key)
        er.note("exports", key, versions=n)
    # OpenLineage files of the runs that touched the calls: rewritten without the calls' datasets
    for key, removed in _rewrite_openlineage(env, t, er.call_ids):
        er.note("openlineage", key, datasets_removed=removed)


def _erase_partitions(er: _Erasure, by_day: dict[str, set[str]]) -> None:
    """Rewrite each affected Parquet partition without the calls, then drop its older versions."""
    env, t = er.env, er.tenant_id
    for day, ids in sorted(by_day.items()):
        for zone, dataset in ALL_DATASETS:
            key = partition_key(dataset, t, day, zone)
            table = env.warehouse.read_partition(dataset, t, day, zone=zone)
            removed = 0
            if table is not None and table.num_rows:
                keep = pc.invert(pc.is_in(table.column("call_id"), value_set=pa.array(sorted(ids), pa.string())))
                kept = table.filter(keep)
                removed = table.num_rows - kept.num_rows
                if removed and kept.num_rows:
                    env.warehouse.write_partition(dataset, t, day, kept, zone=zone)
                elif removed:
                    env.store.delete_all_versions(key)
            old = env.store.delete_noncurrent_versions(key) if env.store.head(key) else 0
            if removed or old:
                er.note("parquet", key, rows=removed, old_versions=old)


def _erase_control_rows(er: _Erasure) -> None:
    """Review queue, the subject's index rows, lookup targets; lineage keeps the fact, not the content."""
    n = subjects_store.erase_calls(
        er.env.control, er.tenant_id, sorted(er.call_ids), sorted(er.hashes), now=er.env.now()
    )
    er.note("control_store", "quarantine_subjects", rows=n["quarantine_subjects"] or 0)
    er.note("control_store", "search_segments", rows=n["search_segments"] or 0)  # issue 19: gone from search too
    er.note("control_store", "lineage_lookups (target cleared)", rows=n["lineage_lookups"] or 0)
    er.note("control_store", "review_queue", rows=n["review_queue"] or 0)
    er.note("control_store", "subject_calls", rows=n["subject_calls"] or 0)
    er.note("control_store", "lineage (deleted_at set)", rows=n["lineage"] or 0)


def _regenerate_reports(er: _Erasure, tenant, reports: list[tuple[str, str]]) -> list[str]:
    """Every version of an affected report goes, then it is generated again without the calls."""
    from .reports import generate_report

    env, t = er.env, er.tenant_id
    regenerated = []
    for kind, period_key in reports:
        prefix = catalog.report_prefix(t, kind, period_key)
        n = env.store.delete_prefix_all_versions(prefix)
        end = report_period_end(prefix + "x")
        start = period_containing(kind, end) if end else None
        period = period_from_partition(kind, start.partition_key) if start else None
        if period is not None:
            generate_report(
                env.warehouse,
                env.control,
                tenant,
                period,
                run_id=env.run_id,
                actor=env.actor,
                region=env.region,
                registry=env.registry,
            )
            for key in [o.key for o in env.store.list(prefix)]:
                env.store.delete_noncurrent_versions(key)
        er.note("reports", prefix, versions=n, regenerated=period is not None)
        regenerated.append(f"{kind}:{period_key}")
    return regenerated


def _verify_and_complete(er: _Erasure, req: dict, by_day: dict, regenerated: list[str], marts: bool) -> dict:
    """Scan every store anew, write the receipt (the request completes only on a passing scan), append it
    to the erasure ledger, and raise an incident when the scan found something."""
    from . import erasure_ledger

    env, t, calls, hashes, request_id = er.env, er.tenant_id, er.calls, er.hashes, er.request_id
    read: list[str] = []
    findings = verify_erasure(env, t, calls, hashes, read=read)
    earlier = [sc for sc in ((req.get("proof") or {}).get("scans") or [])]
    scans = earlier + [{"at": env.now().isoformat(), "passed": not findings, "findings": len(findings)}]
    proof = {
        "calls": len(calls),
        "days": len(by_day),
        "deleted": er.deleted,
        "reports_regenerated": regenerated,
        "marts_rebuilt": marts,
        "scan": {
            "findings": findings,
            "passed": not findings,
            "locations_read": read,
            "dagster_run_storage": env.dagster_source,
            "retained_audit_references": audit_references(env, t, sorted(er.call_ids)),
        },
        "scans": scans,
        "backups_holding_subject": backups_holding(env, calls),
    }
    if findings:
        proof["_pending_calls"] = calls  # a re-run must still know the calls; dropped once the scan passes
    status = "completed" if not findings else "verification_failed"
    _complete(env, request_id, proof, status=status)
    # the receipt joins the ledger: a restore of an older backup gives the request its outcome back
    public = {k: v for k, v in proof.items() if not k.startswith("_")}
    erasure_ledger.append(
        env.store,
        kind="erasure",
        tenant_id=t,
        secret=env.secret,
        request_id=request_id,
        subject_hashes=dict(zip(hashes, req["identifier_types"] or [])),
        call_ids=er.call_ids,
        reason="erasure",
        receipt={
            "status": status,
            "proof": json.loads(json.dumps(public, default=str)),
            "completed_at": env.now().isoformat() if not findings else None,
        },
    )
    if findings:
        from .alerting import AlertSettings, handle_signal

        handle_signal(
            env.control,
            Signal(
                "erasure_verification_failed",
                f"dsr:{request_id}",
                (t,),
                counts={"findings": len(findings)},
                data_categories=tuple(sorted({f.split(":")[0] for f in findings})),
            ),
            settings=env.alert_settings or AlertSettings(),
            registry=env.registry,
        )
    return proof


def audit_references(env: DsrEnv, tenant_id: str, call_ids: list[str]) -> dict:
    """Append-only audit trails keep pseudonymous call ids (never content): counted, documented, allowed."""
    if not call_ids:
        return {"ingest_events": 0, "access_log": 0, "lineage_tombstones": 0}
    return subjects_store.audit_references(env.control, tenant_id, call_ids)


# -- the verification scan -----------------------------------------------------
def _identifier_hits(text: str, tenant_id: str, hashes: set[str], secret: str) -> int:
    """How many phone / e-mail-looking strings in *text* hash to one of the subject's identifiers."""
    hits = 0
    for m in _EMAIL_RE.finditer(text):
        value = m.group(0)
        # an address used as a file name (``marie@example.fr.wav``) ends with the file's extension
        candidates = {value, _FILE_EXT_RE.sub("", value)}
        if any(subject_hash(secret, tenant_id, "email", v) in hashes for v in candidates if "@" in v):
            hits += 1
    for m in _PHONE_RE.finditer(text):
        try:
            if subject_hash(secret, tenant_id, "phone", m.group(0)) in hashes:
                hits += 1
        except ValueError:
            continue
    return hits


def _sidecar_names_subject(body: bytes, tenant_id: str, hashes: set[str], secret: str) -> bool:
    if b"customer_" not in body:
        return False
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    if not isinstance(doc, dict):
        return False
    for field_, kind in (("customer_phone", "phone"), ("customer_email", "email"), ("customer_ref", "customer_ref")):
        v = doc.get(field_)
        if isinstance(v, str) and v:
            try:
                if subject_hash(secret, tenant_id, kind, v) in hashes:
                    return True
            except ValueError:
                continue
    return False


def _json_values_hits(text: str, tenant_id: str, hashes: set[str], secret: str) -> int:
    """Customer references cannot be spotted in free text: check every JSON string value as one."""
    try:
        doc = json.loads(text)
    except ValueError:
        return 0
    hits = 0
    stack = [doc]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and 0 < len(v) <= 128:
            try:
                if subject_hash(secret, tenant_id, "customer_ref", v) in hashes:
                    hits += 1
            except ValueError:
                pass
    return hits


def _text_findings(
    where: str,
    text: str,
    call_ids: set[str],
    tenant_id: str,
    hashes: set[str],
    secret: str,
    *,
    json_values: bool = True,
) -> list[str]:
    out = []
    n_ids = sum(
        1
        for cid in call_ids
        if cid in text and re.search(rf"(?<![A-Za-z0-9_-]){re.escape(cid)}(?![A-Za-z0-9_-])", text)
    )
    if n_ids:
        out.append(f"{where}: {n_ids} call id(s)")
    n = _identifier_hits(text, tenant_id, hashes, secret)
    n += _json_values_hits(text, tenant_id, hashes, secret) if json_values else 0
    if n:
        out.append(f"{where}: {n} identifier occurrence(s)")
    return out


def verify_erasure(
    env: DsrEnv, tenant_id: str, calls: list[dict], hashes: Iterable[str], *, read: list[str] | None = None
) -> list[str]:
    """P17: read every store back; findings name a store and a masked location, never a value.
    *read* receives every location read (masked), for the receipt."""
    t, hashes = tenant_id, set(hashes)
    call_ids = {c["call_id"] for c in calls}
    mask = _Masker(call_ids)
    by_day = _days(calls)
    findings: list[str] = []
    read = read if read is not None else []
    read += _locations_read(env, t, by_day, mask)
    # quarantine: no entry may name the subject (sidecar, reason record, key) or one of the calls
    for entry, why in sorted(_quarantine_matches(env, t, call_ids, hashes, every_version=True).items()):
        findings.append(f"quarantine {mask(entry)}: {why}")
    # exports (DSR bundles, lineage-lookup answers): no key, no content naming the calls or the subject
    for key in _export_matches(env, t, call_ids, hashes, lineage_only=False):
        findings.append(f"exports {mask(key)}: names the calls or the subject")
    findings += _scan_openlineage(env, t, call_ids, hashes, mask)
    findings += _scan_objects(env, t, calls, by_day, hashes, mask)
    findings += _scan_partitions(env, t, by_day, call_ids, hashes, mask)
    findings += _scan_reports(env, t, by_day, call_ids, hashes)
    # earlier exports of the subject
    for other in dsr_log.requests_of_kind(env.control, t, "export"):
        if set(other["subject_hashes"] or []) & hashes:
            n = sum(1 for _ in env.store.list_versions(catalog.dsr_export_prefix(t, other["id"])))
            if n:
                findings.append(f"object_store: {n} version(s) of export dsr-{other['id']}")
    findings += _scan_duckdb(env, call_ids, t, hashes)
    findings += _scan_control(env, t, call_ids, hashes)
    findings += _scan_dagster(env, call_ids, t, hashes)
    return findings


def _locations_read(env: DsrEnv, t: str, by_day: dict[str, set[str]], mask: _Masker) -> list[str]:
    """Every location the verification scan reads (masked), for the receipt."""
    read: list[str] = []
    for day in sorted(by_day):
        read += [f"object_store {prefix} (every version)" for _zone, prefix in _day_prefixes(t, day)]
        read += [f"parquet {mask(partition_key(ds, t, day, zone))}" for zone, ds in ALL_DATASETS]
        read += [
            f"reports {catalog.report_prefix(t, k, period_containing(k, date.fromisoformat(day)).key)}"
            for k in PERIOD_KINDS
        ]
    read.append(f"quarantine {catalog.quarantine_prefix(t)} (every entry, every version)")
    read.append(f"exports {catalog.exports_prefix(t)} (every object, every version)")
    read.append(f"openlineage {catalog.OPENLINEAGE_PREFIX} (the files of the runs that wrote the calls)")
    read.append(f"duckdb {Path(env.marts_path).name if env.marts_path else '(none configured)'}")
    read.append(
        "control_store review_queue, subject_calls, quarantine_subjects, lineage, lineage_lookups, "
        "search_segments, dsr_requests"
    )
    read.append(f"dagster run storage ({env.dagster_source})")
    return read


def _scan_objects(
    env: DsrEnv, t: str, calls: list[dict], by_day: dict[str, set[str]], hashes: set[str], mask: _Masker
) -> list[str]:
    """Object store, every version: the calls' own objects, and the same days' sidecars naming the subject."""
    call_ids = {c["call_id"] for c in calls}
    findings: list[str] = []
    for c in calls:
        for p in _call_prefixes(t, c["call_id"], c["day"]):
            n = sum(1 for _ in env.store.list_versions(p))
            if n:
                findings.append(f"object_store: {n} version(s) under {mask(p)}")
    for day in by_day:
        for zone, prefix in _day_prefixes(t, day):
            for v in env.store.list_versions(prefix):
                if any(cid in v.key for cid in call_ids):
                    findings.append(f"object_store: {mask(v.key)}")
                elif zone != "restricted" and v.key.endswith(".json") and not v.is_delete_marker and v.is_latest:
                    # other calls' sidecars of the same days: does one still name the subject?
                    if _sidecar_names_subject(env.store.get_bytes(v.key), t, hashes, env.secret):
                        findings.append(f"object_store {mask(v.key)}: identifier occurrence in a sidecar")
    return findings


def _scan_partitions(
    env: DsrEnv, t: str, by_day: dict[str, set[str]], call_ids: set[str], hashes: set[str], mask: _Masker
) -> list[str]:
    """Parquet: the affected days of every dataset, one current version each, no call id, no identifier."""
    findings: list[str] = []
    for day, _ids in sorted(by_day.items()):
        for zone, dataset in ALL_DATASETS:
            key = partition_key(dataset, t, day, zone)
            versions = [v for v in env.store.list_versions(key) if v.key == key]
            if len(versions) > 1:
                findings.append(f"parquet: {len(versions)} versions of {mask(key)}")
            table = env.warehouse.read_partition(dataset, t, day, zone=zone)
            if table is None:
                continue
            if _rows(table, call_ids):
                findings.append(f"parquet: rows of the calls in {mask(key)}")
            # identifiers reach the datasets only as keyed hashes (manifest): none may be the subject's
            for col in ("subject_hashes", "customer_ref_hash"):
                if col in table.column_names:
                    values = table.column(col)
                    if pa.types.is_list(values.type):
                        values = pc.list_flatten(values)
                    if pc.any(pc.is_in(values, value_set=pa.array(sorted(hashes), pa.string()))).as_py():
                        findings.append(f"parquet: the subject's hash in {mask(key)}.{col}")
    return findings


def _scan_reports(env: DsrEnv, t: str, by_day: dict[str, set[str]], call_ids: set[str], hashes: set[str]) -> list[str]:
    """The reports of the periods holding the calls: current versions only, no call id, no identifier."""
    findings: list[str] = []
    for day in by_day:
        for kind in PERIOD_KINDS:
            period = period_containing(kind, date.fromisoformat(day))
            prefix = catalog.report_prefix(t, kind, period.key)
            for v in env.store.list_versions(prefix):
                if not v.is_latest:
                    findings.append(f"reports: old version of {v.key}")
                    continue
                body = env.store.get_bytes(v.key)
                if v.key.endswith("/manifest.json"):
                    # the record-level lineage: call ids and versions, no free text
                    listed = {c.get("call_id") for c in json.loads(body).get("calls", [])}
                    if listed & call_ids:
                        findings.append(f"reports {v.key}: {len(listed & call_ids)} call id(s)")
                elif v.key.endswith((".html", ".csv")):  # the .parquet extracts hold the same tables as the .csv
                    findings += _text_findings(
                        f"reports {v.key}",
                        body.decode("utf-8", "replace"),
                        call_ids,
                        t,
                        hashes,
                        env.secret,
                        json_values=False,
                    )
    return findings


def _quarantine_matches(
    env: DsrEnv, tenant_id: str, call_ids: set[str], hashes: set[str], *, every_version: bool = False
) -> dict[str, str]:
    """Quarantine entries (``quarantine/{tenant}/y/m/d/token/``) that name the subject: by the index
    (``quarantine_subjects``), and by reading every entry's sidecar and reason record (entries written
    before the index, or keys naming one of the calls). With *every_version*, an indexed entry with
    any version left counts too."""
    out: dict[str, str] = {}
    if hashes:
        for entry in subjects_store.quarantine_entries(env.control, tenant_id, sorted(hashes)):
            out[entry] = "indexed under the subject"
        if every_version:
            out = {e: w for e, w in out.items() if next(iter(env.store.list_versions(e)), None) is not None}
    for v in env.store.list_versions(catalog.quarantine_prefix(tenant_id)):
        entry = "/".join(v.key.split("/")[:6]) + "/"
        name = v.key.rsplit("/", 1)[-1]
        if entry in out or v.is_delete_marker:
            continue
        if any(cid in v.key for cid in call_ids):
            out[entry] = "key names a call"
            continue
        if not name.endswith(".json") or not v.is_latest:
            continue  # records are written once; an indexed entry's versions are all checked above
        body = env.store.get_bytes(v.key)
        if name == "sidecar.json" and _sidecar_names_subject(body, tenant_id, hashes, env.secret):
            out[entry] = "sidecar names the subject"
        elif _text_findings("q", body.decode("utf-8", "replace"), call_ids, tenant_id, hashes, env.secret):
            out[entry] = f"{name} names the subject or a call"
    return out


def _names(text: str, call_ids: set[str], tenant_id: str, hashes: set[str], secret: str) -> bool:
    return bool(_text_findings("x", text, call_ids, tenant_id, hashes, secret)) or any(h in text for h in hashes)


def _export_matches(
    env: DsrEnv, tenant_id: str, call_ids: set[str], hashes: set[str], *, lineage_only: bool
) -> list[str]:
    """Keys under ``exports/{tenant}/`` (every version) whose name or JSON content names a call or the
    subject (lineage-lookup answers carry call ids, sha256 and paths; DSR bundles the subject's data)."""
    prefix = catalog.lineage_exports_prefix(tenant_id) if lineage_only else catalog.exports_prefix(tenant_id)
    out = []
    for v in env.store.list_versions(prefix):
        if v.is_delete_marker:
            continue
        if any(re.search(rf"(?<![A-Za-z0-9_-]){re.escape(c)}(?![A-Za-z0-9_-])", v.key) for c in call_ids):
            out.append(v.key)
        elif v.key.endswith(".json"):
            if not v.is_latest:
                continue  # lookup answers are written once (a key per run); the subject's bundles go whole
            if _names(env.store.get_bytes(v.key).decode("utf-8", "replace"), call_ids, tenant_id, hashes, env.secret):
                out.append(v.key)
    return sorted(set(out))


_OL_PREFIX = catalog.OPENLINEAGE_PREFIX


def _openlineage_keys(env: DsrEnv, tenant_id: str, call_ids: set[str]) -> list[str]:
    if not call_ids:
        return []
    runs = subjects_store.runs_of_calls(env.control, tenant_id, sorted(call_ids))
    return sorted(i.key for i in env.store.list(_OL_PREFIX) if i.key.rsplit("/", 1)[-1].split(".")[0] in runs)


def _ol_names_call(dataset: dict, call_ids: set[str]) -> bool:
    text = json.dumps(dataset)
    return any(re.search(rf"(?<![A-Za-z0-9_-]){re.escape(c)}(?![A-Za-z0-9_-])", text) for c in call_ids)


def _rewrite_openlineage(env: DsrEnv, tenant_id: str, call_ids: set[str]) -> list[tuple[str, int]]:
    """Drop the calls' own datasets (audio files, transcripts) from the runs' OpenLineage events;
    the partition-level datasets stay (their erasure facet counts the erased calls)."""
    out = []
    for key in _openlineage_keys(env, tenant_id, call_ids):
        lines, removed = [], 0
        for line in env.store.get_bytes(key).decode("utf-8").splitlines():
            if not line.strip():
                continue
            ev = json.loads(line)
            for side in ("inputs", "outputs"):
                kept = [d for d in ev.get(side) or [] if not _ol_names_call(d, call_ids)]
                removed += len(ev.get(side) or []) - len(kept)
                if side in ev:
                    ev[side] = kept
            lines.append(json.dumps(ev, sort_keys=True))
        if removed:
            env.store.put_bytes(key, "".join(x + "\n" for x in lines).encode("utf-8"))
        old = env.store.delete_noncurrent_versions(key)
        if removed or old:
            out.append((key, removed))
    return out


def _scan_openlineage(env: DsrEnv, tenant_id: str, call_ids: set[str], hashes: set[str], mask) -> list[str]:
    out = []
    for key in _openlineage_keys(env, tenant_id, call_ids):
        versions = [v for v in env.store.list_versions(key) if v.key == key]
        if len(versions) > 1:
            out.append(f"openlineage: {len(versions)} versions of {key}")
        out += _text_findings(
            f"openlineage {key}",
            env.store.get_bytes(key).decode("utf-8", "replace"),
            call_ids,
            tenant_id,
            hashes,
            env.secret,
            json_values=False,
        )
    return out


def backups_holding(env: DsrEnv, calls: list[dict]) -> list[dict]:
    """P6, P17: backups taken before this erasure may hold the subject until they expire (listed in
    the receipt, not counted as findings; a restore re-applies the erasure ledger)."""
    from .backup import list_backups

    now = env.now()
    out = []
    for b in list_backups(env.store):
        if not b.get("created_at"):
            continue
        created = _aware(datetime.fromisoformat(b["created_at"]))
        if created <= now:
            out.append(
                {
                    "backup_id": b["backup_id"],
                    "created_at": created.isoformat(),
                    "expires_at": (created + timedelta(days=env.backup_keep_days)).isoformat(),
                }
            )
    return out


def _scan_duckdb(env: DsrEnv, call_ids: set[str], tenant_id: str, hashes: set[str]) -> list[str]:
    if env.marts_path is None or not Path(env.marts_path).exists() or not call_ids:
        return []
    import duckdb

    out = []
    con = duckdb.connect(str(env.marts_path), read_only=True)
    try:
        # stored tables only: the staging views read the Parquet files, scanned above
        cols = con.execute(
            "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.data_type = 'VARCHAR' AND t.table_type = 'BASE TABLE'"
        ).fetchall()
        ids = sorted(call_ids)
        for schema, table, col in cols:
            try:
                n = con.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{col}" IN (SELECT unnest(?))', [ids]
                ).fetchone()[0]
            except duckdb.Error:
                continue  # a staging view over files that are not there: nothing stored in the file
            if n:
                out.append(f"duckdb: {n} row(s) of {schema}.{table}.{col}")
    finally:
        con.close()
    return out


def _scan_control(env: DsrEnv, tenant_id: str, call_ids: set[str], hashes: set[str]) -> list[str]:
    ids = sorted(call_ids)
    out = [
        f"control_store: {n} row(s) in {name}"
        for name, n in subjects_store.leftovers(env.control, tenant_id, ids, sorted(hashes))
    ]
    # receipts and other requests of the tenant: no call id in clear
    for r in subjects_store.request_proofs(env.control, tenant_id):
        proof = dict(r["proof"] or {})
        proof.pop("_pending_calls", None)  # the erasure's own working list, dropped on completion
        text = json.dumps(proof)
        if any(re.search(rf"(?<![A-Za-z0-9_-]){re.escape(c)}(?![A-Za-z0-9_-])", text) for c in ids):
            out.append(f"control_store: dsr_requests {r['id']} proof names a call")
    return out


def _scan_dagster(env: DsrEnv, call_ids: set[str], tenant_id: str, hashes: set[str]) -> list[str]:
    """Dagster's event log cannot be wiped per call: it must never hold one (checked here anyway)."""
    if env.run_storage is None:
        return []
    n_hits = sum(
        len(_text_findings("dagster", text, call_ids, tenant_id, hashes, env.secret))
        for text in env.run_storage.run_texts()
    )
    return [f"dagster_event_log: {n_hits} run(s) with call ids or identifiers"] if n_hits else []


# -- restriction and suppression -------------------------------------------------
def restrict(env: DsrEnv, request_id: int, *, lift: bool = False) -> dict:
    """P16: the subject's calls stay but leave reports until the restriction is lifted (audited, P20)."""
    req = get_request(env, request_id, "restriction")
    t, now = req["tenant_id"], env.now()
    types = dict(zip(req["subject_hashes"] or [], req["identifier_types"] or []))
    changed = subjects_store.set_restriction(
        env.control,
        t,
        {h: types.get(h, "unknown") for h in req["subject_hashes"] or []},
        lift=lift,
        request_id=request_id,
        actor=env.actor,
        now=now,
    )
    env.control.audit(
        actor=env.actor,
        entity="subject_restriction",
        entity_id=f"{t}:dsr-{request_id}",
        change={
            "action": "lift" if lift else "restrict",
            "identifiers": changed,
            "before": "restricted" if lift else "none",
            "after": "none" if lift else "restricted",
        },
    )
    calls = len(subject_calls_of(env, req))
    if changed and calls and env.rebuild_marts is not None:
        env.rebuild_marts()  # the marts leave the calls out (or take them back)
    proof = {"action": "lifted" if lift else "restricted", "identifiers": changed, "calls": calls}
    _complete(env, request_id, proof, status="lifted" if lift else "completed")
    return proof


def suppress(env: DsrEnv, request_id: int, *, reason: str = "objection") -> dict:
    """P18: the subject's keyed hashes join the suppression list; later imports are blocked (audited, P20)."""
    req = get_request(env, request_id)
    if req["kind"] not in ("suppression", "erasure"):
        raise DsrError(f"request {request_id} is a {req['kind']} request; suppression follows erasure or objection")
    t = req["tenant_id"]
    added = add_to_suppression_list(
        env.control,
        t,
        dict(zip(req["subject_hashes"] or [], req["identifier_types"] or [])),
        reason=reason,
        actor=env.actor,
        store=env.store,
    )
    if req["kind"] == "suppression":
        _complete(env, request_id, {"added": added, "identifiers": len(req["subject_hashes"] or [])})
    return {"added": added}


def add_to_suppression_list(
    control: ControlStore, tenant_id: str, hashes: dict[str, str], *, reason: str, actor: str, store: ObjectStore | None
) -> int:
    """P18 + P20: one row per new keyed hash, and an audit row with before/after for each. With *store*,
    the suppression is also appended to the erasure ledger (P6: a restore re-applies it)."""
    if store is not None and hashes:
        from . import erasure_ledger

        erasure_ledger.append(
            store, kind="suppression", tenant_id=tenant_id, secret=None, subject_hashes=dict(hashes), reason=reason
        )
    added = 0
    for h, t in sorted(hashes.items()):
        if not subjects_store.add_suppression(control, tenant_id, h, t, reason=reason, actor=actor):
            continue
        control.audit(
            actor=actor,
            entity="suppression_list",
            entity_id=f"{tenant_id}:{h[:16]}",
            change={"action": "add", "identifier_type": t, "reason": reason, "before": "absent", "after": "listed"},
        )
        added += 1
    return added


def identifiers_from_args(phone: str | None, email: str | None, customer_ref: str | None) -> dict[str, str]:
    ids = {k: v for k, v in (("phone", phone), ("email", email), ("customer_ref", customer_ref)) if v}
    for k, v in ids.items():
        try:
            normalise(k, v)
        except ValueError:
            raise DsrError(f"the {k} given is not valid") from None
    return ids
