"""Tenant report: KPIs with change, inline SVG charts, self-contained HTML — pure functions.

Input is the report's numbers (``ReportData``, built by ``services.reports``
from one tenant's datasets only); output is one HTML string with no external
resource (no script, font, image or stylesheet to fetch), so a tenant can open
it offline and a mail gateway cannot strip half of it. French or English by
the tenant's first language. Every page states that scores are automated and
unvalidated unless marked reviewed (P15). Call ids appear, never personal data.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

from .report_periods import Period

REPORT_VERSION = "report-2"  # 2: call drivers, categories, sentiment (issue 19)

# KPI id -> (higher is better?, kind of number). Rates are 0..1, shown as %.
KPIS: dict[str, tuple[bool | None, str]] = {
    "calls": (None, "count"),
    "avg_score": (True, "score"),
    "compliance_rate": (True, "rate"),
    "auto_fail_rate": (False, "rate"),
    "needs_review_rate": (False, "rate"),
    "avg_duration_s": (None, "seconds"),
    "agent_talk_ratio": (None, "rate"),
}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Call quality report",
        "weekly": "Week",
        "monthly": "Month",
        "generated": "Generated",
        "ai_notice": "Scores in this report are computed automatically from transcripts by an AI system. "
        "They are unvalidated unless marked reviewed, may be wrong, and must not be the only "
        "basis of a decision about a person.",
        "kpis": "Headline figures",
        "vs_prev": "vs previous period",
        "no_prev": "no previous data",
        "calls": "Calls",
        "avg_score": "Average score",
        "compliance_rate": "Script compliance",
        "auto_fail_rate": "Auto-failed calls",
        "needs_review_rate": "Calls needing review",
        "avg_duration_s": "Average call length",
        "agent_talk_ratio": "Agent talk share",
        "trends": "Trends",
        "daily_chart": "Calls per day (bars) and average score (line)",
        "step_chart": "Compliance per script step",
        "teams": "Teams",
        "agents": "Agents",
        "team": "Team",
        "agent": "Agent",
        "compliance": "Script compliance by step",
        "step": "Step",
        "applicable": "Applicable calls",
        "passed": "Passed",
        "rate": "Rate",
        "review": "Review backlog",
        "needs_review": "Need human review",
        "unreviewed": "Not yet reviewed",
        "reviewed": "Reviewed",
        "reasons": "Reasons",
        "lowest": "Lowest-scoring calls",
        "call_id": "Call id",
        "day": "Day",
        "score": "Score",
        "status": "Review status",
        "auto_failed": "Auto-failed",
        "quality": "Data quality",
        "accepted": "Recordings accepted",
        "quarantined": "Recordings quarantined",
        "duplicate": "Duplicates removed",
        "suppressed": "Blocked (subject opted out)",
        "transcription_failed": "Transcriptions failed",
        "low_asr_confidence": "Low transcription confidence",
        "language_mismatch": "Language differs from the one expected",
        "about": "About this report",
        "versions": "Versions",
        "manifest": "Every call and model version that went into this report is listed in manifest.json beside it.",
        "none": "No calls in this period.",
        "unknown": "unknown",
        "yes": "yes",
        "no": "no",
        "unvalidated": "unvalidated",
        "greeting": "Greeting",
        "agent_identification": "Agent identification",
        "recording_disclosure": "Recording disclosure",
        "ai_disclosure": "AI disclosure",
        "needs_discovery": "Needs discovery",
        "solution": "Solution",
        "closing": "Closing",
        "other": "Other",
        "reason_low_asr_confidence": "low transcription confidence",
        "reason_borderline_score": "borderline score",
        "reason_auto_fail": "auto-fail item",
        "reason_disclosure_missing_or_late": "disclosure missing or late",
        "reason_customer_negative_at_end": "customer strongly negative at the end",
        "reason_speaker_unverifiable": "speaker could not be verified",
        "reason_roles_inferred": "mono call: speaker roles inferred from weak evidence",
        "drivers": "Call drivers",
        "drivers_chart": "Share of calls per driver (the first reason the customer gave)",
        "driver": "Driver",
        "share": "Share",
        "change_calls": "Change in calls",
        "resolved_rate": "Resolved",
        "closing_sentiment": "Customer sentiment at the end",
        "driver_none": "no driver recognised",
        "driver_suggestions": "Suggested for calls with no driver recognised (unconfirmed: the driver whose "
        "examples the customer's opening words are most like)",
        "categories": "Categories",
        "category": "Category",
        "no_categories": "No category matched a call in this period.",
        "sentiment": "Sentiment",
        "sentiment_chart": "Average sentiment per day, customer (line) and agent (dashed), "
        "from −1 (negative) to +1 (positive)",
        "measure": "Measure",
        "change": "Change",
        "value": "This period",
        "previous": "Previous period",
        "s_overall": "Average sentiment, all turns",
        "s_agent": "Average agent sentiment",
        "s_customer": "Average customer sentiment",
        "s_customer_change": "Customer's change (last third − first third)",
        "s_negative_end_rate": "Calls ending with a strongly negative customer",
        "sentiment_notice": "Sentiment is estimated from words (a lexicon): sarcasm and irony read as what the words "
        "say. Read it as a trend, not as a verdict on a call.",
    },
    "fr": {
        "title": "Rapport qualité des appels",
        "weekly": "Semaine",
        "monthly": "Mois",
        "generated": "Généré le",
        "ai_notice": "Les scores de ce rapport sont calculés automatiquement à partir des transcriptions par "
        "un système d'IA. Ils ne sont pas validés sauf mention « revu », peuvent être erronés et "
        "ne doivent pas fonder seuls une décision concernant une personne.",
        "kpis": "Chiffres clés",
        "vs_prev": "par rapport à la période précédente",
        "no_prev": "pas de données précédentes",
        "calls": "Appels",
        "avg_score": "Score moyen",
        "compliance_rate": "Respect du script",
        "auto_fail_rate": "Appels en échec automatique",
        "needs_review_rate": "Appels à revoir",
        "avg_duration_s": "Durée moyenne d'appel",
        "agent_talk_ratio": "Part de parole du conseiller",
        "trends": "Tendances",
        "daily_chart": "Appels par jour (barres) et score moyen (courbe)",
        "step_chart": "Respect par étape du script",
        "teams": "Équipes",
        "agents": "Conseillers",
        "team": "Équipe",
        "agent": "Conseiller",
        "compliance": "Respect du script par étape",
        "step": "Étape",
        "applicable": "Appels concernés",
        "passed": "Respectée",
        "rate": "Taux",
        "review": "File de revue",
        "needs_review": "À revoir par un humain",
        "unreviewed": "Pas encore revus",
        "reviewed": "Revus",
        "reasons": "Motifs",
        "lowest": "Appels aux scores les plus bas",
        "call_id": "Id d'appel",
        "day": "Jour",
        "score": "Score",
        "status": "Statut de revue",
        "auto_failed": "Échec automatique",
        "quality": "Qualité des données",
        "accepted": "Enregistrements acceptés",
        "quarantined": "Enregistrements en quarantaine",
        "duplicate": "Doublons écartés",
        "suppressed": "Bloqués (opposition de la personne)",
        "transcription_failed": "Transcriptions échouées",
        "low_asr_confidence": "Transcriptions peu fiables",
        "language_mismatch": "Langue différente de celle attendue",
        "about": "À propos de ce rapport",
        "versions": "Versions",
        "manifest": "Chaque appel et chaque version "
        "de modèle utilisés pour ce rapport sont listés dans manifest.json, à côté de ce fichier.",
        "none": "Aucun appel sur cette période.",
        "unknown": "inconnu",
        "yes": "oui",
        "no": "non",
        "unvalidated": "non validé",
        "greeting": "Accueil",
        "agent_identification": "Présentation du conseiller",
        "recording_disclosure": "Annonce de l'enregistrement",
        "ai_disclosure": "Annonce de l'IA",
        "needs_discovery": "Découverte du besoin",
        "solution": "Solution",
        "closing": "Prise de congé",
        "other": "Autre",
        "reason_low_asr_confidence": "transcription peu fiable",
        "reason_borderline_score": "score limite",
        "reason_auto_fail": "critère éliminatoire",
        "reason_disclosure_missing_or_late": "annonce absente ou tardive",
        "reason_customer_negative_at_end": "client très négatif en fin d'appel",
        "reason_speaker_unverifiable": "locuteur non vérifiable",
        "reason_roles_inferred": "appel mono : rôles des locuteurs déduits sur indices faibles",
        "drivers": "Motifs d'appel",
        "drivers_chart": "Part des appels par motif (le premier motif donné par le client)",
        "driver": "Motif",
        "share": "Part",
        "change_calls": "Évolution (appels)",
        "resolved_rate": "Résolus",
        "closing_sentiment": "Sentiment du client en fin d'appel",
        "driver_none": "aucun motif reconnu",
        "driver_suggestions": "Suggestions pour les appels sans motif reconnu (non confirmées : le motif dont "
        "les exemples ressemblent le plus aux premiers mots du client)",
        "categories": "Catégories",
        "category": "Catégorie",
        "no_categories": "Aucune catégorie reconnue sur cette période.",
        "sentiment": "Sentiment",
        "sentiment_chart": "Sentiment moyen par jour, client (courbe) et conseiller "
        "(pointillés), de −1 (négatif) à +1 (positif)",
        "measure": "Mesure",
        "change": "Évolution",
        "value": "Cette période",
        "previous": "Période précédente",
        "s_overall": "Sentiment moyen, tous les tours de parole",
        "s_agent": "Sentiment moyen du conseiller",
        "s_customer": "Sentiment moyen du client",
        "s_customer_change": "Évolution du client (dernier tiers − premier tiers)",
        "s_negative_end_rate": "Appels finissant sur un client très négatif",
        "sentiment_notice": "Le sentiment est estimé à partir des mots (un lexique) : le sarcasme et l'ironie sont lus "
        "au pied de la lettre. À lire comme une tendance, pas comme un verdict sur un appel.",
    },
}


@dataclass
class ReportData:
    tenant_id: str
    tenant_name: str
    language: str
    period: Period
    generated_at: str
    current: dict[str, float | None]
    previous: dict[str, float | None]
    daily: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    review: dict[str, Any] = field(default_factory=dict)
    lowest: list[dict[str, Any]] = field(default_factory=list)
    quality: dict[str, int] = field(default_factory=dict)
    versions: dict[str, list[str]] = field(default_factory=dict)
    drivers: list[dict[str, Any]] = field(default_factory=list)  # issue 19
    driver_suggestions: list[dict[str, Any]] = field(default_factory=list)  # {driver, calls}
    categories: list[dict[str, Any]] = field(default_factory=list)
    sentiment: list[dict[str, Any]] = field(default_factory=list)
    sentiment_daily: list[dict[str, Any]] = field(default_factory=list)


def language_for(languages: list[str]) -> str:
    return languages[0] if languages and languages[0] in STRINGS else "en"


# -- numbers ------------------------------------------------------------------
def fmt(value: float | int | None, kind: str, lang: str) -> str:
    """A number as a tenant reads it: French decimal comma, % for rates, m:ss for durations."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "count":
        s = f"{int(value):,}".replace(",", "\u202f" if lang == "fr" else ",")
    elif kind == "rate":
        s = f"{100 * value:.1f} %" if lang == "fr" else f"{100 * value:.1f}%"
    elif kind == "score":
        s = f"{value:.1f}"
    elif kind == "seconds":
        m, sec = divmod(int(round(value)), 60)
        s = f"{m}:{sec:02d}"
    elif kind == "sentiment":  # a mean compound, −1..+1
        s = f"{value:+.2f}"
    elif kind == "points":  # change of a rate, in percentage points
        s = f"{100 * value:+.1f} pt" if lang == "fr" else f"{100 * value:+.1f} pp"
    else:
        s = f"{value:.2f}"
    return s.replace(".", ",") if lang == "fr" and kind != "count" else s


def kpi_changes(current: dict[str, float | None], previous: dict[str, float | None]) -> list[dict[str, Any]]:
    """One row per KPI: value, previous value, change (rates in points) and whether it improved."""
    rows = []
    for kpi, (higher_better, kind) in KPIS.items():
        cur, prev = current.get(kpi), previous.get(kpi)
        change = None if cur is None or prev is None else cur - prev
        improved = None
        if change is not None and higher_better is not None and abs(change) > 1e-12:
            improved = (change > 0) == higher_better
        rows.append({"kpi": kpi, "kind": kind, "value": cur, "previous": prev, "change": change, "improved": improved})
    return rows


def _change_text(row: dict[str, Any], lang: str) -> str:
    change = row["change"]
    if change is None:
        return STRINGS[lang]["no_prev"]
    kind = row["kind"]
    shown = (
        fmt(change, "points", lang)
        if kind == "rate"
        else (("+" if change >= 0 else "−") + fmt(abs(change), kind, lang))
    )
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    return f"{arrow} {shown}"


# -- charts (inline SVG) ------------------------------------------------------
def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def daily_chart_svg(daily: list[dict[str, Any]], title: str, lang: str, width: int = 720, height: int = 240) -> str:
    """Bars: calls per day (left axis); line: average score 0-100 (right axis)."""
    left, right, top, bottom = 48, 48, 24, 40
    pw, ph = width - left - right, height - top - bottom
    n = max(len(daily), 1)
    max_calls = max([d.get("calls") or 0 for d in daily] + [1])
    step = pw / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{_esc(title)}</title>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#f7f9fc" stroke="#d0d7e2"/>',
    ]
    for frac in (0.25, 0.5, 0.75):
        y = top + ph * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e3e8ef"/>')
        parts.append(
            f'<text x="{left + pw + 6}" y="{y + 4:.1f}" font-size="10" fill="#b35c00">{int(100 * frac)}</text>'
        )
    parts.append(
        f'<text x="{left - 6}" y="{top + 10}" font-size="10" text-anchor="end" fill="#1f4e8c">{max_calls}</text>'
    )
    points = []
    for i, d in enumerate(daily):
        calls = d.get("calls") or 0
        h = ph * calls / max_calls
        x = left + i * step + step * 0.15
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + ph - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#1f4e8c"><title>{_esc(d["day"])}: {calls}</title></rect>'
        )
        if i % max(1, n // 8) == 0:
            parts.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{height - bottom + 14}" font-size="10" '
                f'text-anchor="middle" fill="#444">{_esc(str(d["day"])[5:])}</text>'
            )
        if d.get("avg_score") is not None:
            points.append((left + i * step + step / 2, top + ph * (1 - d["avg_score"] / 100)))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line" points="{path}" fill="none" stroke="#e07b00" stroke-width="2.5"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#e07b00"/>' for x, y in points]
    parts.append("</svg>")
    return "".join(parts)


def step_chart_svg(steps: list[dict[str, Any]], labels: dict[str, str], title: str, lang: str, width: int = 720) -> str:
    """Horizontal bars: compliance rate per script step."""
    row, left, top = 26, 220, 10
    height = top * 2 + row * max(len(steps), 1)
    pw = width - left - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{_esc(title)}</title>'
    ]
    for i, s in enumerate(steps):
        y = top + i * row
        rate = s.get("compliance_rate")
        w = pw * (rate or 0)
        colour = "#2e7d32" if (rate or 0) >= 0.8 else "#e07b00" if (rate or 0) >= 0.5 else "#c62828"
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" font-size="12" text-anchor="end" fill="#222">'
            f"{_esc(labels.get(s['step'], s['step']))}</text>"
        )
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{pw}" height="18" fill="#eef1f5"/>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + 4}" width="{w:.1f}" height="18" fill="{colour}"/>')
        parts.append(
            f'<text x="{left + pw + 6}" y="{y + 17}" font-size="12" fill="#222">{_esc(fmt(rate, "rate", lang))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def share_chart_svg(
    rows: list[dict[str, Any]], label_key: str, labels: dict[str, str], title: str, lang: str, width: int = 720
) -> str:
    """Horizontal bars: share of calls per driver (or category), one colour, largest first."""
    row, left, top = 26, 220, 10
    height = top * 2 + row * max(len(rows), 1)
    pw = width - left - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{_esc(title)}</title>'
    ]
    for i, r in enumerate(rows):
        y = top + i * row
        share = r.get("share") or 0
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" font-size="12" text-anchor="end" fill="#222">'
            f"{_esc(labels.get(r[label_key], r[label_key]))}</text>"
        )
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{pw}" height="18" fill="#eef1f5"/>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + 4}" width="{pw * share:.1f}" height="18" fill="#1f4e8c"/>')
        parts.append(
            f'<text x="{left + pw + 6}" y="{y + 17}" font-size="12" fill="#222">{_esc(fmt(share, "rate", lang))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sentiment_chart_svg(daily: list[dict[str, Any]], title: str, width: int = 720, height: int = 200) -> str:
    """Lines: average customer (solid) and agent (dashed) sentiment per day, −1..+1, zero line."""
    left, right, top, bottom = 48, 24, 16, 32
    pw, ph = width - left - right, height - top - bottom
    n = max(len(daily), 1)
    step = pw / n
    y_of = lambda v: top + ph * (1 - (v + 1) / 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{_esc(title)}</title>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#f7f9fc" stroke="#d0d7e2"/>',
    ]
    for v in (-1, -0.5, 0, 0.5, 1):
        y = y_of(v)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" '
            f'stroke="{"#8a94a6" if v == 0 else "#e3e8ef"}"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#444">{v:+g}</text>')
    for i, d in enumerate(daily):
        if i % max(1, n // 8) == 0:
            parts.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{height - bottom + 14}" font-size="10" '
                f'text-anchor="middle" fill="#444">{_esc(str(d["day"])[5:])}</text>'
            )
    for key, colour, dash in (("customer", "#c62828", ""), ("agent", "#1f4e8c", ' stroke-dasharray="5,4"')):
        pts = [
            (left + i * step + step / 2, y_of(max(-1.0, min(1.0, d[key]))))
            for i, d in enumerate(daily)
            if d.get(key) is not None
        ]
        if pts:
            parts.append(
                f'<polyline class="line" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}" '
                f'fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _signed(v: float | int | None, kind: str, lang: str) -> str:
    if v is None:
        return "–"
    if kind == "rate":
        return fmt(v, "points", lang)
    if kind == "sentiment":
        return fmt(v, "sentiment", lang)
    return ("+" if v >= 0 else "−") + fmt(abs(v), kind, lang)


# -- HTML ---------------------------------------------------------------------
CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;margin:0;background:#eef2f7;color:#1d2733}
main{max-width:980px;margin:0 auto;padding:24px}
header{background:#1f4e8c;color:#fff;padding:20px 24px;border-radius:8px}
header h1{margin:0 0 4px;font-size:24px} header p{margin:0;opacity:.9}
section{background:#fff;border-radius:8px;padding:16px 20px;margin-top:16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:18px;margin:0 0 12px;color:#1f4e8c}
.notice{background:#fff4e0;border-left:5px solid #e07b00;padding:12px 16px;margin-top:16px;border-radius:4px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.kpi{border:1px solid #d0d7e2;border-radius:6px;padding:10px 12px}
.kpi .label{font-size:13px;color:#555} .kpi .value{font-size:26px;font-weight:600;margin:4px 0}
.kpi .change{font-size:12px;color:#555} .good{color:#2e7d32!important} .bad{color:#c62828!important}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{padding:6px 8px;border-bottom:1px solid #e3e8ef;text-align:left}
th{background:#f3f6fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
footer{font-size:12px;color:#555;margin:16px 4px} .note{font-size:12px;color:#555}
"""


def _table(headers: list[str], rows: list[list[tuple[str, bool]]], empty: str) -> str:
    if not rows:
        return f"<p>{_esc(empty)}</p>"
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_esc(v)}</td>' if num else f"<td>{_esc(v)}</td>" for v, num in r) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(data: ReportData) -> str:
    lang = data.language if data.language in STRINGS else "en"
    t = STRINGS[lang]
    period_label = (
        f"{t[data.period.kind]} {data.period.key} ({data.period.start.isoformat()} – {data.period.days()[-1]})"
    )
    kpi_cards = []
    for row in kpi_changes(data.current, data.previous):
        cls = "" if row["improved"] is None else (" good" if row["improved"] else " bad")
        kpi_cards.append(
            f'<div class="kpi" data-kpi="{row["kpi"]}"><div class="label">{_esc(t[row["kpi"]])}</div>'
            f'<div class="value">{_esc(fmt(row["value"], row["kind"], lang))}</div>'
            f'<div class="change{cls}">{_esc(_change_text(row, lang))}'
            f"{'' if row['change'] is None else ' · ' + _esc(t['vs_prev'])}</div></div>"
        )
    unknown = t["unknown"]
    teams = [
        [
            (r["team"] or unknown, False),
            (fmt(r["calls"], "count", lang), True),
            (fmt(r["avg_score"], "score", lang), True),
            (fmt(r["auto_fail_rate"], "rate", lang), True),
        ]
        for r in data.teams
    ]
    agents = [
        [
            (r["agent_id"] or unknown, False),
            (r["team"] or unknown, False),
            (fmt(r["calls"], "count", lang), True),
            (fmt(r["avg_score"], "score", lang), True),
            (fmt(r["auto_fail_rate"], "rate", lang), True),
            (fmt(r["needs_review"], "count", lang), True),
            (fmt(r["agent_talk_ratio"], "rate", lang), True),
        ]
        for r in data.agents
    ]
    steps = [
        [
            (t.get(r["step"], r["step"]), False),
            (fmt(r["applicable_calls"], "count", lang), True),
            (fmt(r["passed_calls"], "count", lang), True),
            (fmt(r["compliance_rate"], "rate", lang), True),
        ]
        for r in data.steps
    ]
    lowest = [
        [
            (r["call_id"], False),
            (r["day"], False),
            (fmt(r["score"], "score", lang), True),
            (t["yes"] if r["auto_failed"] else t["no"], False),
            (t["unvalidated"] if r["review_status"] == "unreviewed" else r["review_status"], False),
            (", ".join(t.get(f"reason_{x}", x) for x in r.get("review_reasons") or []), False),
        ]
        for r in data.lowest
    ]
    review = data.review
    reasons = review.get("reasons") or {}
    review_rows = [
        [(t["needs_review"], False), (fmt(review.get("needs_review", 0), "count", lang), True)],
        [(t["unreviewed"], False), (fmt(review.get("unreviewed", 0), "count", lang), True)],
        [(t["reviewed"], False), (fmt(review.get("reviewed", 0), "count", lang), True)],
    ]
    review_rows += [
        [(f"{t['reasons']}: {t.get('reason_' + k, k)}", False), (fmt(v, "count", lang), True)]
        for k, v in sorted(reasons.items())
    ]
    quality_rows = [
        [(t[k], False), (fmt(data.quality.get(k, 0), "count", lang), True)]
        for k in (
            "accepted",
            "quarantined",
            "duplicate",
            "suppressed",
            "transcription_failed",
            "low_asr_confidence",
            "language_mismatch",
        )
    ]
    versions = "; ".join(f"{k}: {', '.join(v) or '–'}" for k, v in sorted(data.versions.items()))
    # issue 19: drivers, categories, sentiment
    driver_labels = {"none": t["driver_none"]}
    drivers = [
        [
            (driver_labels.get(r["driver"], r["driver"]), False),
            (fmt(r["calls"], "count", lang), True),
            (fmt(r["share"], "rate", lang), True),
            (_signed(r["change"], "count", lang), True),
            (fmt(r["resolved_rate"], "rate", lang), True),
            (fmt(r["closing_sentiment"], "sentiment", lang), True),
        ]
        for r in data.drivers
    ]
    categories = [
        [
            (r["category"], False),
            (fmt(r["calls"], "count", lang), True),
            (fmt(r["share"], "rate", lang), True),
            (_signed(r["change"], "count", lang), True),
        ]
        for r in data.categories
    ]
    sentiment = [
        [
            (t["s_" + r["measure"]], False),
            *[
                (
                    (fmt(r[k], "rate", lang) if r["measure"] == "negative_end_rate" else fmt(r[k], "sentiment", lang)),
                    True,
                )
                for k in ("value", "previous")
            ],
            (_signed(r["change"], "rate" if r["measure"] == "negative_end_rate" else "sentiment", lang), True),
        ]
        for r in data.sentiment
    ]
    suggested = (
        f'<p class="note" id="driver-suggestions">{_esc(t["driver_suggestions"])}: '
        + ", ".join(f"{_esc(r['driver'])} {fmt(r['calls'], 'count', lang)}" for r in data.driver_suggestions)
        + "</p>"
        if data.driver_suggestions
        else ""
    )
    title = f"{t['title']} — {data.tenant_name}"
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="ccr-tenant" content="{_esc(data.tenant_id)}"><meta name="ccr-period" content="{_esc(data.period.kind)}:{_esc(data.period.key)}">
<title>{_esc(title)} — {_esc(period_label)}</title><style>{CSS}</style></head>
<body><main>
<header><h1>{_esc(title)}</h1><p>{_esc(period_label)} · {_esc(t["generated"])} {_esc(data.generated_at)}</p></header>
<div class="notice" id="ai-notice" role="note">{_esc(t["ai_notice"])}</div>
<section id="kpis"><h2>{_esc(t["kpis"])}</h2><div class="kpis">{"".join(kpi_cards)}</div></section>
<section id="trends"><h2>{_esc(t["trends"])}</h2>
<p>{_esc(t["daily_chart"])}</p>{daily_chart_svg(data.daily, t["daily_chart"], lang)}
<p>{_esc(t["step_chart"])}</p>{step_chart_svg(data.steps, t, t["step_chart"], lang)}</section>
<section id="teams"><h2>{_esc(t["teams"])}</h2>{_table([t["team"], t["calls"], t["avg_score"], t["auto_fail_rate"]], teams, t["none"])}</section>
<section id="agents"><h2>{_esc(t["agents"])}</h2>{_table([t["agent"], t["team"], t["calls"], t["avg_score"], t["auto_fail_rate"], t["needs_review"], t["agent_talk_ratio"]], agents, t["none"])}</section>
<section id="drivers"><h2>{_esc(t["drivers"])}</h2>
<p>{_esc(t["drivers_chart"])}</p>{share_chart_svg(data.drivers, "driver", driver_labels, t["drivers_chart"], lang) if data.drivers else ""}
{_table([t["driver"], t["calls"], t["share"], t["change_calls"], t["resolved_rate"], t["closing_sentiment"]], drivers, t["none"])}{suggested}</section>
<section id="sentiment"><h2>{_esc(t["sentiment"])}</h2>
<p>{_esc(t["sentiment_chart"])}</p>{sentiment_chart_svg(data.sentiment_daily, t["sentiment_chart"])}
{_table([t["measure"], t["value"], t["previous"], t["change"]], sentiment, t["none"])}
<p class="note">{_esc(t["sentiment_notice"])}</p></section>
<section id="categories"><h2>{_esc(t["categories"])}</h2>{_table([t["category"], t["calls"], t["share"], t["change_calls"]], categories, t["no_categories"])}</section>
<section id="compliance"><h2>{_esc(t["compliance"])}</h2>{_table([t["step"], t["applicable"], t["passed"], t["rate"]], steps, t["none"])}</section>
<section id="review"><h2>{_esc(t["review"])}</h2>{_table(["", t["calls"]], review_rows, t["none"])}</section>
<section id="lowest"><h2>{_esc(t["lowest"])}</h2>{_table([t["call_id"], t["day"], t["score"], t["auto_failed"], t["status"], t["reasons"]], lowest, t["none"])}</section>
<section id="quality"><h2>{_esc(t["quality"])}</h2>{_table(["", t["calls"]], quality_rows, t["none"])}</section>
<section id="about"><h2>{_esc(t["about"])}</h2><p>{_esc(t["manifest"])}</p><p>{_esc(t["versions"])}: {_esc(versions)}</p></section>
<footer>{_esc(REPORT_VERSION)} · {_esc(data.tenant_id)} · {_esc(data.period.kind)} {_esc(data.period.key)}</footer>
</main></body></html>
"""
