"""Lineage lookups for audits (P2, P3, P9, P13, P16, P17): a call's chain, a data subject's calls,
a report's inputs. Index lookups in the control store only: no scan of a tenant's rows, no
object-store read, so an answer comes in milliseconds at millions of calls.

Identifiers in answers are call ids, URIs and keyed hashes; a subject's identifier is hashed
with the tenant-scoped key exactly as ingestion does and never stored or printed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from ..core.errors import CcrError, InvalidRequest
from ..core.lineage import CALL_KINDS, LineageContext, artefact_view, covers, order_chain
from ..core.report_periods import Period, period_from_partition
from ..core.subjects import IDENTIFIER_TYPES, subject_hash
from ..core.tenants import DEFAULT_RETENTION_DAYS, Tenant
from ..stores import lineage_log
from ..stores.control_store import ControlStore


def retention_days(tenant: Tenant | None) -> dict[str, int]:
    return {cls: (tenant.retention(cls) if tenant else DEFAULT_RETENTION_DAYS[cls]) for cls in DEFAULT_RETENTION_DAYS}


def object_key(uri: str, uri_prefix: str | None) -> str | None:
    """The object key behind a lineage URI (the partition for a ``#call`` row), to match the access log."""
    base = uri.split("#", 1)[0]
    if base.startswith("s3://"):
        return base[5:].partition("/")[2] or None
    if uri_prefix and base.startswith(uri_prefix):
        from urllib.parse import unquote

        return unquote(base[len(uri_prefix) :])  # file URIs escape '=' of day=…
    return None


def _call_rows(control: ControlStore, tenant_id: str, call_ids: list[str]) -> list[dict]:
    return lineage_log.call_rows(control, tenant_id, call_ids)


def _period_rows(control: ControlStore, tenant_id: str, days: set[str]) -> list[dict]:
    """Partition-level rows (marts, reports) of the tenant that cover one of *days*."""
    if not days:
        return []
    return [
        r
        for r in lineage_log.period_rows_between(control, tenant_id, min(days), max(days))
        if any(covers(r, d) for d in days)
    ]


def _accesses(control: ControlStore, tenant_id: str, keys: set[str], limit: int = 200) -> list[dict]:
    out = lineage_log.accesses_of(control, tenant_id, keys)
    out.sort(key=lambda r: (str(r["at"]), r["object"]))
    return [{**r, "at": r["at"].isoformat() if hasattr(r["at"], "isoformat") else str(r["at"])} for r in out[-limit:]]


def _call_day(rows: list[dict]) -> str | None:
    for r in rows:
        if r["artefact_kind"] in CALL_KINDS and r.get("partition_key"):
            return r["partition_key"]
    return None


def call_lineage(control: ControlStore, tenant: Tenant | str, call_id: str, *, uri_prefix: str | None = None) -> dict:
    """Upstream and downstream artefacts of one call, with versions and runs, who accessed them
    (P3), retention dates (P19) and deletion status (P17)."""
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    keep = retention_days(None if isinstance(tenant, str) else tenant)
    rows = _call_rows(control, tenant_id, [call_id])
    day = _call_day(rows)
    rows += _period_rows(control, tenant_id, {day} if day else set())
    arts = order_chain([artefact_view(r, keep) for r in rows])
    keys = {k for a in arts if (k := object_key(a["uri"], uri_prefix))}
    accesses = _accesses(control, tenant_id, keys)
    return {
        "tenant_id": tenant_id,
        "call_id": call_id,
        "day": day,
        "found": bool(rows),
        "stages": sorted({a["kind"] for a in arts}, key=lambda k: [a["kind"] for a in arts].index(k)),
        "run_ids": sorted({a["run_id"] for a in arts if a["run_id"]}),
        "artefacts": arts,
        "accesses": accesses,
        "deleted": bool(arts) and all(a["status"] == "deleted" for a in arts if a["call_id"]),
    }


def subject_hashes_for(secret: str, tenant_id: str, identifier: str, identifier_type: str | None = None) -> list[str]:
    """Keyed hashes of *identifier* under each type it is valid for (or the one given)."""
    out = []
    for t in [identifier_type] if identifier_type else IDENTIFIER_TYPES:
        try:
            out.append(subject_hash(secret, tenant_id, t, identifier))
        except ValueError:
            continue
    return out


def subject_lineage(
    control: ControlStore, tenant: Tenant | str, hashes: list[str], *, uri_prefix: str | None = None
) -> dict:
    """P16: every call and artefact of one data subject (by keyed hashes), for export and erasure."""
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    keep = retention_days(None if isinstance(tenant, str) else tenant)
    calls = control.calls_of_subject(tenant_id, hashes)
    rows = _call_rows(control, tenant_id, [c["call_id"] for c in calls])
    period_rows = _period_rows(control, tenant_id, {c["day"] for c in calls})
    by_call: dict[str, list[dict]] = {c["call_id"]: [] for c in calls}
    for r in rows:
        by_call.setdefault(r["call_id"], []).append(artefact_view(r, keep))
    return {
        "tenant_id": tenant_id,
        "subject_hashes": [h[:16] + "…" for h in hashes],
        "calls": [
            {
                "call_id": c["call_id"],
                "day": c["day"],
                "artefacts": order_chain(by_call.get(c["call_id"], [])),
                "reports": [
                    a["uri"]
                    for a in order_chain(
                        artefact_view(r, keep)
                        for r in period_rows
                        if covers(r, c["day"]) and r["artefact_kind"] == "report"
                    )
                ],
            }
            for c in calls
        ],
        "derived": order_chain([artefact_view(r, keep) for r in period_rows]),
    }


def parse_period(period: str) -> Period:
    """``2026-W47`` (weekly) or ``2026-11`` (monthly), as in report paths."""
    try:
        if "-W" in period:
            y, w = period.split("-W")
            return period_from_partition("weekly", date.fromisocalendar(int(y), int(w), 1).isoformat())
        y, m = period.split("-")
        return period_from_partition("monthly", date(int(y), int(m), 1).isoformat())
    except ValueError:
        raise InvalidRequest(f"not a report period (2026-W47 or 2026-11): {period[:20]!r}") from None


def report_lineage(control: ControlStore, tenant: Tenant | str, period: Period) -> dict:
    """Which calls, versions and runs went into the tenant's report of *period*."""
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    keep = retention_days(None if isinstance(tenant, str) else tenant)
    reports = lineage_log.report_rows(control, tenant_id, period.partition_key, period.start.isoformat())
    scores = lineage_log.score_rows_between(control, tenant_id, period.start.isoformat(), period.end.isoformat())
    return {
        "tenant_id": tenant_id,
        "period": {
            "kind": period.kind,
            "key": period.key,
            "start": period.start.isoformat(),
            "end_exclusive": period.end.isoformat(),
        },
        "found": bool(reports),
        "report_files": order_chain([artefact_view(r, keep) for r in reports]),
        "report_runs": sorted({r["run_id"] for r in reports if r["run_id"]}),
        "calls": sorted({s["call_id"] for s in scores}),
        "erased_calls": sorted({s["call_id"] for s in scores if s["deleted_at"]}),
        "score_runs": sorted({s["run_id"] for s in scores if s["run_id"]}),
        "versions": {
            k: sorted({s[k] for s in scores if s[k]}) for k in ("model_version", "scorer_version", "scorecard_version")
        },
    }


def record_mart_lineage(
    control: ControlStore,
    lctx: LineageContext,
    *,
    models: list[str],
    warehouse_uri: str,
    tenant_days: Mapping[str, list[str]],
) -> int:
    """Partition-level rows for dbt marts: one per tenant and model, covering the tenant's days."""
    rows = []
    for tenant_id, days in sorted(tenant_days.items()):
        if not days:
            continue
        end = date.fromordinal(date.fromisoformat(max(days)).toordinal() + 1).isoformat()
        for model in sorted(models):
            rows.append(
                lctx.row(
                    tenant_id=tenant_id,
                    kind="mart",
                    uri=f"{warehouse_uri}/main.{model}",
                    period_start=min(days),
                    period_end=end,
                )
            )
    control.record_lineage(rows)
    return len(rows)


def format_call(ans: dict) -> str:
    """Human-readable chain (the CLI's default output)."""
    if not ans["found"]:
        return f"no lineage for call {ans['call_id']} of tenant {ans['tenant_id']}"
    lines = [f"call {ans['call_id']} (tenant {ans['tenant_id']}, day {ans['day']}): " + " → ".join(ans["stages"]), ""]
    files: dict[str, int] = {}
    for a in ans["artefacts"]:  # a report's extracts: one line per report run, the report row has the versions
        if a["kind"] == "report_file":
            files[a["run_id"]] = files.get(a["run_id"], 0) + 1
    for a in ans["artefacts"]:
        if a["kind"] == "report_file":
            if a["run_id"] in files:
                lines.append(
                    f"  {'report_file':<20} {files.pop(a['run_id'])} file(s) of report run {str(a['run_id'])[:8]}"
                    f" under {a['uri'].rsplit('/', 1)[0]}/"
                )
            continue
        versions = ", ".join(
            f"{k.split('_')[0]}={a[k]}"
            for k in ("code_version", "model_version", "scorer_version", "scorecard_version")
            if a[k]
        )
        lines.append(
            f"  {a['kind']:<20} {a['status']:<8} run {str(a['run_id'])[:8]:<8} {a['region'] or '':<10} "
            f"keep until {(a['retention_until'] or '-')[:10]}  {versions}"
        )
        lines.append(f"  {'':<20} {a['uri']}")
    lines.append("")
    lines.append(f"accesses ({len(ans['accesses'])}):")
    for r in ans["accesses"]:
        lines.append(f"  {r['at'][:19]} {r['actor']:<30} {r['action']:<7} {r['purpose']}")
    return "\n".join(lines)


# -- lookups asked of the Dagster job (P13, P16) --------------------------------
LOOKUP_KINDS = ("call", "subject_hash", "report")
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class LookupError_(CcrError, ValueError):
    """A lookup request that cannot be registered or answered (message holds no identifier)."""


def register_lookup(control: ControlStore, tenant_id: str, lookup: str, target: str, *, actor: str) -> int:
    """Write a lookup request row; the job's run config names only its id, so neither a call id nor a
    subject hash reaches Dagster's run storage (P16, README). A subject is named by keyed hash only."""
    if lookup not in LOOKUP_KINDS:
        raise LookupError_(f"unknown lookup kind (one of {', '.join(LOOKUP_KINDS)})")
    if not target or len(target) > 200:
        raise LookupError_("a lookup target is 1-200 characters")
    if lookup == "subject_hash" and not _HASH_RE.match(target):
        raise LookupError_("subject_hash must be the 64-hex keyed hash, never the identifier")
    if lookup == "report":
        parse_period(target)
    return lineage_log.add_lookup(control, tenant_id, lookup, target, actor=actor)


def get_lookup(control: ControlStore, request_id: int) -> dict:
    row = lineage_log.get_lookup(control, request_id)
    if row is None:
        raise LookupError_(f"no lineage lookup request {request_id}")
    if row["target"] is None:
        raise LookupError_(f"lineage lookup request {request_id} named an erased subject or call")
    return row


def finish_lookup(
    control: ControlStore, request_id: int, *, status: str, export_key: str | None, run_id: str | None
) -> None:
    lineage_log.finish_lookup(control, request_id, status=status, export_key=export_key, run_id=run_id)
