"""Incident handling (P7, P10-P14, P22): signal -> incident register -> page / ticket / Sentry.

``handle_signal`` applies the rules of ``core.incidents``: it opens one
incident per signal (or updates the open one: a repeat is a timeline row, not
a second page), pages each affected tenant's on-call route with a PagerDuty
Events v2 event whose ``dedup_key`` is tenant + signal, records every delivery
attempt in ``alert_deliveries`` (sent / retried / failed, with the HTTP
status), opens a ticket row for minor incidents, writes one French
notification draft per affected tenant for a breach, and reports to Sentry
through the PII scrubber. ``escalate_breaches`` pages again when a breach's
72-hour authority deadline gets close.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..core.errors import InvalidRequest, NotFound
from ..core.incidents import (
    Classification,
    Signal,
    authority_deadline,
    breach_clock,
    breach_notification_draft,
    classify,
    dedup_key,
    pager_event,
    signal_key,
    summary_line,
    unusual_access_actors,
)
from ..core.tenants import TenantRegistry
from ..stores import audit_trail, incident_register
from ..stores.control_store import ControlStore, utcnow

RETRY_STATUSES = {429, 500, 502, 503, 504}
ACTOR = "ccr alerting"


@dataclass
class AlertSettings:
    """Where alerts go. Routing keys are secrets: env var *names* here, values from the environment."""

    pager_url: str | None = None  # e.g. https://events.pagerduty.com/v2/enqueue (EU: events.eu.pagerduty.com)
    default_routing_key_env: str = "CCR_PAGER_ROUTING_KEY"
    max_attempts: int = 5
    backoff_s: float = 1.0  # doubles per attempt: 1, 2, 4, 8 s
    timeout_s: float = 5.0
    source: str = "ccr_pipelines"
    sentry_enabled: bool = False
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def routing_key(self, registry: TenantRegistry | None, tenant: str | None) -> str | None:
        t = registry.get(tenant) if (registry is not None and tenant) else None
        name = (t.alert_routing.pager_routing_key_env if t else None) or self.default_routing_key_env
        return self.env.get(name) or self.env.get(self.default_routing_key_env)


def _timeline(
    control: ControlStore, incident_id: int, event: str, detail: dict | None = None, *, at: datetime, actor: str = ACTOR
) -> None:
    with incident_register.changes(control) as tx:
        tx.timeline(incident_id, event, detail, at=at, actor=actor)


def _open_incident(control: ControlStore, signal: Signal, cls: Classification, now: datetime) -> tuple[int, bool]:
    """(incident id, created?): an open incident for the same signal and tenants absorbs the repeat."""
    key, tenants = signal_key(signal), sorted(signal.tenants)
    with incident_register.changes(control) as tx:
        for row in tx.open_with_signal(key):
            if sorted(row.tenants or []) == tenants:
                counts = dict(row.counts or {})
                counts["repeats"] = int(counts.get("repeats", 0)) + 1
                tx.update(row.id, counts=counts)
                tx.timeline(row.id, "repeated", {"run_ids": list(signal.run_ids)}, at=now, actor=ACTOR)
                return row.id, False
        incident_id = tx.insert(
            severity=cls.severity,
            rule=cls.rule,
            signal=key,
            status="open",
            tenants=tenants,
            counts=dict(signal.counts),
            run_ids=list(signal.run_ids),
            is_breach=cls.is_breach,
            detected_at=now,
            notify_authority_by=authority_deadline(now) if cls.is_breach else None,
        )
        tx.timeline(
            incident_id,
            "detected",
            {"rule": cls.rule, "severity": cls.severity, "route": cls.route, "breach": cls.is_breach},
            at=now,
            actor=ACTOR,
        )
        return incident_id, True


def post_with_retries(
    url: str,
    payload: dict,
    *,
    control: ControlStore,
    incident_id: int,
    channel: str,
    key: str,
    settings: AlertSettings,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST *payload*; retry on 429/5xx/network errors with exponential backoff; log every attempt (P22)."""
    body = json.dumps(payload).encode("utf-8")
    for attempt in range(1, settings.max_attempts + 1):
        status: int | None = None
        try:
            req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=settings.timeout_s) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            status = None
        ok = status is not None and 200 <= status < 300
        retry = not ok and (status is None or status in RETRY_STATUSES) and attempt < settings.max_attempts
        incident_register.record_delivery(
            control,
            incident_id=incident_id,
            channel=channel,
            dedup_key=key,
            attempt=attempt,
            status="sent" if ok else "retried" if retry else "failed",
            http_status=status,
        )
        if ok:
            return True
        if not retry:
            return False
        sleep(settings.backoff_s * 2 ** (attempt - 1))
    return False


def _page(
    control: ControlStore,
    registry: TenantRegistry | None,
    settings: AlertSettings,
    incident_id: int,
    signal: Signal,
    cls: Classification,
    *,
    tenants: list[str | None],
    summary: str,
    suffix: str = "",
    sleep=time.sleep,
) -> int:
    sent = 0
    for tenant in tenants:
        key = dedup_key(tenant, signal) + suffix
        routing = settings.routing_key(registry, tenant)
        if not settings.pager_url or not routing:
            # nowhere to page: say so in the register rather than pretending it went out
            incident_register.record_delivery(
                control,
                incident_id=incident_id,
                channel="pager",
                dedup_key=key,
                attempt=1,
                status="failed",
                http_status=None,
            )
            continue
        event = pager_event(
            routing_key=routing,
            key=key,
            severity=cls.severity,
            summary=summary,
            source=settings.source,
            tenant=tenant,
            signal=signal,
            rule=cls.rule,
            incident_id=incident_id,
        )
        sent += post_with_retries(
            settings.pager_url,
            event,
            control=control,
            incident_id=incident_id,
            channel="pager",
            key=key,
            settings=settings,
            sleep=sleep,
        )
    return sent


def handle_signal(
    control: ControlStore,
    signal: Signal,
    *,
    settings: AlertSettings,
    registry: TenantRegistry | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Classify, register, route. Returns what happened (ids and counts only)."""
    now = now or utcnow()
    cls = classify(signal)
    incident_id, created = _open_incident(control, signal, cls, now)
    out = {
        "incident_id": incident_id,
        "created": created,
        "severity": cls.severity,
        "rule": cls.rule,
        "route": cls.route,
        "is_breach": cls.is_breach,
        "pages_sent": 0,
        "drafts": 0,
    }
    if not created:
        return out
    summary = summary_line(signal, cls)
    tenants: list[str | None] = list(signal.tenants) or [None]
    if cls.route == "ticket":
        queues = {
            (
                registry.get(t).alert_routing.ticket_queue
                if registry is not None and t and registry.get(t)
                else "data-platform"
            )
            for t in tenants
        }
        for queue in sorted(queues):
            incident_register.record_delivery(
                control,
                incident_id=incident_id,
                channel="ticket",
                dedup_key=queue,
                attempt=1,
                status="sent",
                http_status=None,
                at=now,
            )
    else:
        out["pages_sent"] = _page(
            control, registry, settings, incident_id, signal, cls, tenants=tenants, summary=summary, sleep=sleep
        )
        _timeline(control, incident_id, "paged", {"sent": out["pages_sent"], "tenants": len(tenants)}, at=utcnow())
    if cls.is_breach:
        out["drafts"] = write_breach_drafts(control, registry, incident_id, signal, now)
    if settings.sentry_enabled and cls.severity != "mineur":
        import sentry_sdk

        with sentry_sdk.new_scope() as scope:
            scope.set_tag("ccr.severity", cls.severity)
            scope.set_tag("ccr.signal", signal.kind)
            scope.set_extra("incident_id", incident_id)
            scope.set_extra("tenants", list(signal.tenants))
            scope.set_extra("counts", dict(signal.counts))
            sentry_sdk.capture_message(summary, level="fatal" if cls.severity == "critique" else "error")
    return out


def write_breach_drafts(
    control: ControlStore, registry: TenantRegistry | None, incident_id: int, signal: Signal, now: datetime
) -> int:
    """P10/P14: one French draft per affected tenant, with that tenant's counts only."""
    n = 0
    for tenant in signal.tenants:
        t = registry.get(tenant) if registry is not None else None
        body = breach_notification_draft(
            tenant_id=tenant,
            tenant_name=t.display_name if t else tenant,
            incident_id=incident_id,
            signal=signal,
            detected_at=now,
            deadline=authority_deadline(now),
            tenant_counts=dict(signal.tenant_counts.get(tenant, {})),
        )
        incident_register.add_notification(
            control, incident_id=incident_id, tenant_id=tenant, language="fr", body=body, created_at=now
        )
        n += 1
    return n


def escalate_breaches(
    control: ControlStore,
    *,
    settings: AlertSettings,
    registry: TenantRegistry | None = None,
    now: datetime | None = None,
    sleep=time.sleep,
) -> list[int]:
    """Page again (critical) when an open breach's 72 h deadline is within 24 h, and when it passes."""
    now = now or utcnow()
    escalated = []
    rows = incident_register.open_breaches(control)
    done = {
        (r["incident_id"], (r["detail"] or {}).get("clock"))
        for r in incident_register.timeline_events(control, "escalated")
    }
    for row in rows:
        deadline = row["notify_authority_by"]
        if deadline.tzinfo is None:  # SQLite hands back naive UTC
            deadline = deadline.replace(tzinfo=UTC)
        clock = breach_clock(now, deadline)
        if clock == "on_track" or (row["id"], clock) in done:
            continue
        kind, _, subject = row["signal"].partition(":")
        signal = Signal(kind=kind, subject=subject, tenants=tuple(row["tenants"] or ()))
        cls = Classification("critique", row["rule"], "page_now", True)
        hours = round((deadline - now).total_seconds() / 3600, 1)
        summary = f"[critique] breach incident {row['id']}: authority deadline {clock} ({hours} h left) — GDPR art. 33"
        sent = _page(
            control,
            registry,
            settings,
            row["id"],
            signal,
            cls,
            tenants=list(row["tenants"] or []) or [None],
            summary=summary,
            suffix=f":deadline-{clock}",
            sleep=sleep,
        )
        _timeline(control, row["id"], "escalated", {"clock": clock, "hours_left": hours, "sent": sent}, at=now)
        escalated.append(row["id"])
    return escalated


NOTES_EVENT = "notes"  # a timeline row holding one tenant's root cause / corrective action (P13, P14)


def set_status(
    control: ControlStore,
    incident_id: int,
    status: str,
    *,
    actor: str,
    root_cause: str | None = None,
    corrective_action: str | None = None,
    tenant: str | None = None,
) -> dict:
    """Acknowledge or resolve an incident, with the evidence fields (P13).

    P14: with *tenant*, the notes are that tenant's own: an append-only ``notes`` row of the timeline
    naming the tenant, and the only notes its audit pack carries when the incident touches several
    tenants. Without *tenant*, they are the register's own notes (the incident row), copied into an
    audit pack only for an incident that touches that tenant alone. Setting a tenant's notes on an
    incident already in *status* keeps its time (one ``resolve`` per affected tenant). Returns the
    incident's tenants."""
    if status not in ("acknowledged", "resolved"):
        raise InvalidRequest("status is 'acknowledged' or 'resolved'")
    if tenant is not None and root_cause is None and corrective_action is None:
        raise InvalidRequest("notes for a tenant need --root-cause or --corrective-action")
    now = utcnow()
    values = {"status": status, f"{status}_at": now}
    if tenant is None:
        if root_cause is not None:
            values["root_cause"] = root_cause
        if corrective_action is not None:
            values["corrective_action"] = corrective_action
    with incident_register.changes(control) as tx:
        row = tx.get(incident_id)
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        tenants = list(row.tenants or [])
        if tenant is not None and tenant not in tenants:
            raise InvalidRequest(f"incident {incident_id} does not touch that tenant")
        if tenant is None or row.status != status:
            tx.update(incident_id, **values)
            tx.timeline(incident_id, status, {}, at=now, actor=actor)
        if tenant is not None:
            tx.timeline(
                incident_id,
                NOTES_EVENT,
                {"tenant_id": tenant, "root_cause": root_cause, "corrective_action": corrective_action},
                at=now,
                actor=actor,
            )
    return {"tenants": tenants}


def list_incidents(control: ControlStore, *, limit: int, include_resolved: bool = False) -> list[dict]:
    """The register as ``ccr incidents list`` shows it: newest first, open ones unless *include_resolved*."""
    return incident_register.list_incidents(control, limit=limit, include_resolved=include_resolved)


def unusual_access(
    control: ControlStore, *, window: timedelta, now: datetime | None = None
) -> dict[str, tuple[str, ...]]:
    """Rule R3 (P3): the actors who read, exported or linked the data of several tenants within *window*
    before *now*, with those tenants."""
    since = (now or utcnow()) - window
    return unusual_access_actors(audit_trail.access_since(control, since))


def tenant_notes(timeline_rows: list[dict], tenant_id: str) -> dict | None:
    """The latest root cause and corrective action recorded for *tenant_id* (``notes`` rows), or None."""
    notes: dict | None = None
    for r in timeline_rows:
        d = r.get("detail") or {}
        if r.get("event") == NOTES_EVENT and d.get("tenant_id") == tenant_id:
            notes = dict(notes or {"root_cause": None, "corrective_action": None})
            for k in ("root_cause", "corrective_action"):
                if d.get(k) is not None:
                    notes[k] = d[k]
    return notes


_SENTRY_DSN: list[str] = []  # the DSN initialised in this process (init once, not per sensor tick)


def init_sentry(dsn: str | None, *, environment: str) -> bool:
    """Sentry with personal data off (P7, P8): no default PII, no local variables, scrubbed events."""
    if not dsn:
        return False
    if _SENTRY_DSN == [dsn]:
        return True
    import sentry_sdk

    from ..core.scrub import scrub_event

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_breadcrumb=_scrub_breadcrumb,
        default_integrations=False,
        traces_sample_rate=0,
    )
    _SENTRY_DSN[:] = [dsn]
    return True


def _scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    from ..core.scrub import scrub_event

    return scrub_event(crumb)
