"""Incident rules (P7, P10, P11, P13, P14, P22) — pure functions, no Dagster, no I/O.

A *signal* is something the platform noticed (a failed check, a failed run, a
late partition, an erasure that left data behind…). The rules below map each
signal to a severity of the Incident Response Policy §5 and a route:

| rule | signal | condition | severity | why (policy §5) |
|---|---|---|---|---|
| R1 | isolation_breach | always | critique | one tenant's data in another's output: "fuite de données" (breach) |
| R2 | erasure_verification_failed | always | critique | data that had to be erased is still held (breach) |
| R3 | unusual_access | ≥ 3 tenants touched by one actor in the window | critique | possible compromise, "compromission critique" (breach suspected) |
| R4 | check_failed | ERROR check, ≥ 5 tenants | critique | "impact significatif sur les Clients" |
| R5 | check_failed | ERROR check, 1–4 tenants | majeur | blocks processing for "un nombre limité de Clients" |
| R6 | check_failed | WARN check | mineur | advisory: "anomalie isolée" |
| R7 | run_failed | ≥ 5 tenants, or ≥ 3 consecutive failures | majeur | a function is down, not just one retry |
| R8 | run_failed | otherwise | mineur | an isolated failure; the retry restores it |
| R9 | freshness_miss | late ≥ 24 h | majeur | tenants' reports and reviews go stale |
| R10 | freshness_miss | otherwise | mineur | late data, no impact yet |
| R11 | purge_failed | always | majeur | storage-limitation promise (P19) at risk |
| R12 | dsr_overdue | always | majeur | legal deadline (GDPR art. 12(3)) passed |
| R13 | delivery_failed | always | majeur | a tenant's delivery failed: "within minutes" (P22) |

Routes: critique → page now (PagerDuty ``critical``), majeur → page at lower
urgency (``error``), mineur → a ticket row (``warning`` if ever paged).
Breach incidents carry the GDPR art. 33 clock: the authority is notified
within 72 h of becoming aware; one French draft per affected tenant, naming
only that tenant's data (P14).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Severity = Literal["critique", "majeur", "mineur"]
SIGNALS = (
    "isolation_breach",
    "erasure_verification_failed",
    "unusual_access",
    "check_failed",
    "run_failed",
    "freshness_miss",
    "purge_failed",
    "dsr_overdue",
    "delivery_failed",
)
PAGER_SEVERITY = {"critique": "critical", "majeur": "error", "mineur": "warning"}
ROUTES = {"critique": "page_now", "majeur": "page_low_urgency", "mineur": "ticket"}
MANY_TENANTS = 5  # "impact significatif sur les Clients"
UNUSUAL_ACCESS_TENANTS = 3  # one actor reading or exporting this many tenants in the window
REPEATED_RUN_FAILURES = 3
LATE_MAJOR = timedelta(hours=24)
AUTHORITY_DEADLINE = timedelta(hours=72)  # GDPR art. 33(1)
ESCALATE_BEFORE = timedelta(hours=24)  # page again when a breach's deadline is this close
PLATFORM = "platform"  # the "tenant" of a signal that concerns no tenant in particular


@dataclass(frozen=True)
class Signal:
    kind: str
    subject: str  # what failed: an asset/check key, a job name, a request id — never personal data
    tenants: tuple[str, ...] = ()
    check_severity: Literal["ERROR", "WARN"] | None = None
    consecutive_failures: int = 1
    late_by: timedelta | None = None
    run_ids: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    # per affected tenant, that tenant's own figures (rows, calls, people): a breach draft shows only its own
    tenant_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    data_categories: tuple[str, ...] = ()  # for breaches: e.g. ("transcripts", "call scores")

    def __post_init__(self):
        if self.kind not in SIGNALS:
            raise ValueError(f"unknown signal kind {self.kind!r}")


@dataclass(frozen=True)
class Classification:
    severity: Severity
    rule: str
    route: str
    is_breach: bool


def classify(signal: Signal) -> Classification:
    """The documented rule (module table) that applies to *signal*."""
    n = len(signal.tenants)
    k = signal.kind

    def c(sev: Severity, rule: str, breach: bool = False) -> Classification:
        return Classification(sev, rule, ROUTES[sev], breach)

    if k == "isolation_breach":
        return c("critique", "R1", True)
    if k == "erasure_verification_failed":
        return c("critique", "R2", True)
    if k == "unusual_access":
        return c("critique", "R3", True) if n >= UNUSUAL_ACCESS_TENANTS else c("mineur", "R3-below-threshold")
    if k == "check_failed":
        if signal.check_severity == "WARN":
            return c("mineur", "R6")
        return c("critique", "R4") if n >= MANY_TENANTS else c("majeur", "R5")
    if k == "run_failed":
        if n >= MANY_TENANTS or signal.consecutive_failures >= REPEATED_RUN_FAILURES:
            return c("majeur", "R7")
        return c("mineur", "R8")
    if k == "freshness_miss":
        return c("majeur", "R9") if (signal.late_by or timedelta(0)) >= LATE_MAJOR else c("mineur", "R10")
    if k == "purge_failed":
        return c("majeur", "R11")
    if k == "dsr_overdue":
        return c("majeur", "R12")
    return c("majeur", "R13")  # delivery_failed


def signal_key(signal: Signal) -> str:
    """What the incident register stores as the signal: kind and subject (ids only)."""
    return f"{signal.kind}:{signal.subject}"[:100]


def dedup_key(tenant: str | None, signal: Signal) -> str:
    """One pager alert per tenant + signal: repeats update the open incident instead of re-paging."""
    return f"ccr:{tenant or PLATFORM}:{signal_key(signal)}"[:255]


def authority_deadline(became_aware_at: datetime) -> datetime:
    return became_aware_at + AUTHORITY_DEADLINE


def breach_clock(now: datetime, deadline: datetime) -> Literal["on_track", "due_soon", "overdue"]:
    if now >= deadline:
        return "overdue"
    return "due_soon" if deadline - now <= ESCALATE_BEFORE else "on_track"


def pager_event(
    *,
    routing_key: str,
    key: str,
    severity: Severity,
    summary: str,
    source: str,
    tenant: str | None,
    signal: Signal,
    rule: str,
    incident_id: int | None,
) -> dict:
    """A PagerDuty Events API v2 ``trigger`` event. Only ids and counts: no personal data."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": summary[:1024],
            "source": source,
            "severity": PAGER_SEVERITY[severity],
            "component": signal.subject[:200],
            "group": tenant or PLATFORM,
            "class": signal.kind,
            "custom_details": {
                "incident_id": incident_id,
                "rule": rule,
                "severity_policy": severity,
                "tenants": list(signal.tenants),
                "run_ids": list(signal.run_ids),
                "counts": dict(signal.counts),
            },
        },
    }


def summary_line(signal: Signal, cls: Classification) -> str:
    who = ", ".join(signal.tenants) if signal.tenants else PLATFORM
    return f"[{cls.severity}] {signal.kind} on {signal.subject} ({who}) — rule {cls.rule}"


def unusual_access_actors(rows: list[dict], *, threshold: int = UNUSUAL_ACCESS_TENANTS) -> dict[str, tuple[str, ...]]:
    """Actors who read/exported/linked data of *threshold* or more tenants in the rows given (one window).

    Pipeline actors (``dagster:…``) work per tenant by design and are counted too: a run
    touching many tenants is exactly what P4 forbids.
    """
    seen: dict[str, set[str]] = {}
    for r in rows:
        if r["action"] in ("read", "export", "link"):
            seen.setdefault(r["actor"], set()).add(r["tenant_id"])
    return {a: tuple(sorted(t)) for a, t in sorted(seen.items()) if len(t) >= threshold}


DPO_CONTACT = "dpo@callcenterrate.fr"


def breach_notification_draft(
    *,
    tenant_id: str,
    tenant_name: str,
    incident_id: int,
    signal: Signal,
    detected_at: datetime,
    deadline: datetime,
    tenant_counts: dict[str, int],
) -> str:
    """The French notification to ONE affected tenant (Incident Response Policy §7; P10, P14).

    *tenant_counts* are this tenant's figures only; nothing names another tenant.
    """
    categories = ", ".join(signal.data_categories) or "enregistrements d'appels et données dérivées"
    figures = "\n".join(f"- {k} : {v}" for k, v in sorted(tenant_counts.items())) or "- en cours d'évaluation"
    nature = {
        "isolation_breach": "des données de votre compte ont pu figurer dans un livrable qui ne vous était pas "
        "destiné, ou l'inverse (défaut de séparation entre comptes)",
        "erasure_verification_failed": "des données dont l'effacement avait été demandé ont été retrouvées lors "
        "de la vérification qui suit l'effacement",
        "unusual_access": "un accès inhabituel à des données de plusieurs comptes a été détecté",
    }.get(signal.kind, f"incident de type {signal.kind}")
    return f"""Objet : Notification d'incident de sécurité — violation de données personnelles (incident n° {incident_id})

Madame, Monsieur,

Conformément à notre politique de réponse aux incidents (§7), nous vous informons d'un incident
concernant le compte {tenant_name} ({tenant_id}).

1. Nature de l'incident
{nature}. Détecté le {detected_at:%d/%m/%Y à %H:%M} UTC (règle de détection : {signal.kind}).

2. Catégories et nombre approximatif de données et de personnes concernées
Catégories : {categories}.
{figures}

3. Conséquences probables
Selon les données concernées : divulgation de contenus d'appels ou de résultats d'analyse à un tiers
non autorisé, ou conservation au-delà de ce qui a été demandé.

4. Mesures prises et proposées
- traitement des données du compte suspendu le temps de l'analyse lorsque nécessaire (isolement) ;
- accès aux éléments concernés limités aux personnes habilitées ;
- correction, puis contrôle automatique de non-régression avant reprise ;
- notification à l'autorité de contrôle, si elle est requise, au plus tard le {deadline:%d/%m/%Y à %H:%M} UTC
  (72 heures après en avoir pris connaissance, RGPD art. 33).

5. Recommandations
Informez-nous de toute activité anormale constatée de votre côté ; vérifiez les accès de vos
utilisateurs ; si vous estimez que les personnes concernées doivent être informées, nous vous
fournirons les éléments nécessaires.

6. Contact
Délégué à la protection des données : {DPO_CONTACT}

Ce message ne contient que des informations relatives à votre compte.
"""
