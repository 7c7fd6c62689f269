"""Audit evidence pack (P2, P3, P13, P16, P17, GDPR art. 30): one zip per tenant and period.

Sections: the record of processing activities for the tenant, the access log, data-subject
requests with their proofs, the purge log, incidents with their timeline and this tenant's
notifications and notes (root cause, corrective action recorded for this tenant: P14), the audit trail, a lineage summary, and the map of each policy commitment
(P1…P23) to the evidence found in the period. Everything is read from the control store as it
is; nothing names another tenant (every text is scrubbed of other tenant ids, and a test reads
the archive back to prove it).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any

import yaml

from .. import __version__
from ..core.errors import InvalidRequest
from ..core.tenants import DEFAULT_RETENTION_DAYS, Tenant, TenantRegistry
from ..stores import evidence as period_evidence
from ..stores.control_store import ControlStore
from .alerting import NOTES_EVENT, tenant_notes

SECTIONS = (
    "ropa.json",
    "access_log.csv",
    "dsr_requests.json",
    "purge_log.csv",
    "incidents.json",
    "audit_log.json",
    "lineage_summary.json",
    "policy_evidence.csv",
    "manifest.json",
)


def compliance_config() -> dict:
    return yaml.safe_load(resources.files("ccr_pipelines").joinpath("config/compliance.yaml").read_text("utf-8"))


def _bounds(d1: date, d2: date) -> tuple[datetime, datetime]:
    """[d1 00:00 UTC, d2+1 00:00 UTC): the pack's period, both days included."""
    return (datetime.combine(d1, time.min, UTC), datetime.combine(d2 + timedelta(days=1), time.min, UTC))


def _csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def ropa(cfg: dict, tenant: Tenant) -> dict:
    """Art. 30 record for one controller (tenant): purposes, categories, recipients, sub-processors,
    retention (the tenant's own classes), transfers and security measures."""
    return {
        "record_of_processing_activities": "GDPR art. 30(2)",
        "controller": {"tenant_id": tenant.id, "name": tenant.display_name},
        "processor": cfg["processor"],
        "purposes": cfg["purposes"],
        "data_subjects": cfg["data_subjects"],
        "data_categories": cfg["data_categories"],
        "excluded_categories": cfg["excluded_categories"],
        "recipients": cfg["recipients"],
        "sub_processors": cfg["sub_processors"],
        "storage_region": tenant.storage_region,
        "transfers_outside_eu": cfg["transfers_outside_eu"],
        "retention_days": {c: tenant.retention(c) for c in DEFAULT_RETENTION_DAYS},
        "security_measures": cfg["security_measures"],
    }


def _incidents(ev: period_evidence.PeriodEvidence, tenant_id: str) -> list[dict]:
    out = []
    for r in ev.incidents():
        if tenant_id not in (r.get("tenants") or []):
            continue
        iid = r["id"]
        rows_tl = ev.incident_timeline(iid)
        # P14: root cause and corrective action are this tenant's own notes; the register's notes only
        # for an incident that touches this tenant alone; another tenant's notes rows are not listed
        own = tenant_notes(rows_tl, tenant_id)
        if own is None and (r.get("tenants") or []) == [tenant_id]:
            own = {"root_cause": r["root_cause"], "corrective_action": r["corrective_action"]}
        timeline = [
            {k: t[k] for k in ("at", "event", "actor")}
            for t in rows_tl
            if t["event"] != NOTES_EVENT or (t["detail"] or {}).get("tenant_id") == tenant_id
        ]
        notes = ev.notifications(iid)
        # P14: the tenant list and per-tenant counts would name other tenants: not copied
        out.append(
            {
                k: r[k]
                for k in (
                    "id",
                    "severity",
                    "rule",
                    "signal",
                    "status",
                    "is_breach",
                    "detected_at",
                    "acknowledged_at",
                    "resolved_at",
                    "notify_authority_by",
                )
            }
            | {
                "root_cause": (own or {}).get("root_cause"),
                "corrective_action": (own or {}).get("corrective_action"),
                "run_ids": r.get("run_ids") or [],
                "timeline": timeline,
                "notifications": notes,
            }
        )
    return out


def _lineage_summary(ev: period_evidence.PeriodEvidence) -> dict:
    return {
        "by_kind": ev.lineage_groups("artefact_kind"),
        "by_region": ev.lineage_groups("region"),  # P2
        "by_engine": ev.lineage_groups("engine"),  # P9
        "versions": ev.lineage_groups("model_version", "scorer_version", "scorecard_version"),
        "calls": ev.lineage_distinct("call_id"),
        "runs": ev.lineage_distinct("run_id"),
        "deleted_artefacts": ev.lineage_deleted(),
    }


def evidence_counters(ev: period_evidence.PeriodEvidence, data: dict) -> dict[str, Callable[[], tuple[int, str]]]:
    """Evidence source → (count in the period, where it is in the pack)."""
    summary = data["lineage_summary"]
    incs = data["incidents"]
    return {
        "lineage": lambda: (ev.lineage_rows(), "lineage_summary.json by_kind"),
        "lineage_regions": lambda: (
            sum(r["rows"] for r in summary["by_region"] if r["region"]),
            "lineage_summary.json by_region",
        ),
        "lineage_engines": lambda: (
            sum(r["rows"] for r in summary["by_engine"] if r["engine"]),
            "lineage_summary.json by_engine",
        ),
        "access_log": lambda: (len(data["access_log"]), "access_log.csv"),
        "isolation": lambda: (
            ev.ingested(),
            "ingestion ledger rows, tenant-scoped (blocking isolation checks in Dagster)",
        ),
        # P5, P8 are configuration, not period events: the pack points at it, it does not count it
        "settings": lambda: (0, "configuration, not period-bound: `ccr settings` (S3 SSE, TLS, environment)"),
        "exports": lambda: (len([r for r in data["dsr_requests"] if r["kind"] == "export"]), "dsr_requests.json"),
        "incidents": lambda: (len(incs), "incidents.json"),
        "breaches": lambda: (
            len([i for i in incs if i["is_breach"]]),
            "incidents.json (is_breach, notify_authority_by)",
        ),
        "suspensions": lambda: (ev.suspensions(), "audit_log.json (tenant_suspensions)"),
        "incident_timeline": lambda: (sum(len(i["timeline"]) for i in incs), "incidents.json timeline"),
        "notifications": lambda: (sum(len(i["notifications"]) for i in incs), "incidents.json notifications"),
        "review_queue": lambda: (ev.queued_for_review(), "review_queue (control store)"),
        "dsr_requests": lambda: (len(data["dsr_requests"]), "dsr_requests.json"),
        "erasures": lambda: (
            len([r for r in data["dsr_requests"] if r["kind"] == "erasure"]) + summary["deleted_artefacts"],
            "dsr_requests.json proofs; lineage deleted_at",
        ),
        "suppression": lambda: (ev.ingested("suppressed"), "ingestion ledger (outcome suppressed)"),
        "purge_log": lambda: (len(data["purge_log"]), "purge_log.csv"),
        "audit_log": lambda: (len(data["audit_log"]), "audit_log.json"),
        "redaction": lambda: (
            sum(r["rows"] for r in summary["by_kind"] if r["artefact_kind"] == "redacted_transcript"),
            "lineage_summary.json (redacted_transcript)",
        ),
        "alert_deliveries": lambda: (
            ev.alert_deliveries([i["id"] for i in incs]),
            "alert deliveries of this tenant's incidents",
        ),
        "scores": lambda: (
            sum(r["rows"] for r in summary["by_kind"] if r["artefact_kind"] == "call_score"),
            "lineage_summary.json (call_score: disclosure steps scored on every call)",
        ),
    }


def scrub_other_tenants(text: str, others: list[str]) -> str:
    """P4, P14: a value naming another tenant is masked (ids only: tenant ids are slugs)."""
    for other in sorted(others, key=len, reverse=True):
        text = re.sub(rf"(?<![a-z0-9-]){re.escape(other)}(?![a-z0-9-])", "[other tenant]", text)
    return text


def build_pack(
    control: ControlStore,
    registry: TenantRegistry,
    tenant_id: str,
    d1: date,
    d2: date,
    *,
    actor: str,
    now: datetime | None = None,
) -> tuple[bytes, dict]:
    """The zip archive's bytes and its manifest. Logs the export in the access log (P3)."""
    if d2 < d1:
        raise InvalidRequest("--to is before --from")
    tenant = registry.require(tenant_id, active=False)
    cfg = compliance_config()
    lo, hi = _bounds(d1, d2)
    now = now or datetime.now(UTC)
    data: dict[str, Any] = {}
    with period_evidence.period(control, tenant_id, lo, hi) as ev:
        data["access_log"] = ev.access_log()
        data["dsr_requests"] = ev.dsr_requests()
        data["purge_log"] = ev.purge_log()
        data["incidents"] = _incidents(ev, tenant_id)
        data["audit_log"] = ev.audit_log()
        data["lineage_summary"] = _lineage_summary(ev)
        counters = evidence_counters(ev, data)
        evidence = []
        for c in cfg["commitments"]:
            n, where = counters[c["evidence"]]()
            evidence.append(
                {
                    "commitment": c["id"],
                    "title": c["title"],
                    "evidence_source": c["evidence"],
                    "records_in_period": n,
                    "where": where,
                    "found": "yes" if n else ("configuration" if c["evidence"] == "settings" else "none in period"),
                }
            )
    files = {
        "ropa.json": json.dumps(ropa(cfg, tenant), indent=1, ensure_ascii=False),
        "access_log.csv": _csv(data["access_log"], ["at", "actor", "action", "purpose", "object", "run_id"]),
        "dsr_requests.json": json.dumps(data["dsr_requests"], indent=1, default=str),
        "purge_log.csv": _csv(data["purge_log"], ["at", "run_id", "data_class", "dry_run", "objects", "rows"]),
        "incidents.json": json.dumps(data["incidents"], indent=1, default=str, ensure_ascii=False),
        "audit_log.json": json.dumps(data["audit_log"], indent=1, default=str, ensure_ascii=False),
        "lineage_summary.json": json.dumps(data["lineage_summary"], indent=1, default=str),
        "policy_evidence.csv": _csv(
            evidence, ["commitment", "title", "evidence_source", "records_in_period", "found", "where"]
        ),
    }
    others = [t for t in registry.ids() if t != tenant_id]
    files = {name: scrub_other_tenants(body, others) for name, body in files.items()}
    manifest = {
        "tenant_id": tenant_id,
        "from": d1.isoformat(),
        "to": d2.isoformat(),
        "generated_at": now.isoformat(),
        "generated_by": actor,
        "ccr_pipelines_version": __version__,
        "files": {n: hashlib.sha256(b.encode("utf-8")).hexdigest() for n, b in sorted(files.items())},
        "commitments_with_evidence": sum(1 for e in evidence if e["found"] == "yes"),
    }
    files["manifest.json"] = json.dumps(manifest, indent=1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in SECTIONS:
            info = zipfile.ZipInfo(f"audit-pack-{tenant_id}-{d1}-{d2}/{name}", date_time=now.timetuple()[:6])
            zf.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED)
    control.log_access(
        actor=actor,
        tenant_id=tenant_id,
        action="export",
        purpose=f"audit pack {d1}..{d2}",
        obj=f"control/{tenant_id}/audit-pack/{d1}_{d2}",
    )
    return buf.getvalue(), manifest
