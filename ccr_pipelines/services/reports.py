"""Tenant reports (P1, P3, P4, P14, P15): one tenant's datasets for a period -> HTML, extracts, manifest.

Everything a report shows is read through ``Warehouse.query_views`` for ONE
tenant: the DuckDB views see only that tenant's partitions, so another
tenant's rows cannot reach a report even when agent names or call ids
collide. Outputs go under ``reports/{tenant}/{kind}/{period}/`` through the
tenant-scoped accessor, which writes an access-log row per object (P3); a
re-run of the same period overwrites the same keys.

Publication is gated by the blocking isolation check (P4, P14): a report is
first written under ``{prefix}/staging/``, read back and checked
(``isolation_problems``), and only the bytes that passed are copied to the
published keys, followed by a check record ``{prefix}/check.json`` (passed,
run id, time, sha256 of every file). A report that fails is never written to
the published keys; its staging copy is deleted (every version). A link is
issued only for a report whose check record passed and still matches the
files (``deliverable_key``): ``ccr reports link`` refuses anything else.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from ..core import catalog
from ..core.errors import CcrError
from ..core.keys import tenant_key
from ..core.report_periods import Period
from ..core.report_render import REPORT_VERSION, ReportData, kpi_changes, language_for, render_html
from ..core.scorecards import STEP_KINDS
from ..core.tenants import Tenant, TenantRegistry
from ..stores import ledger
from ..stores.access import TenantObjects
from ..stores.control_store import ControlStore
from ..stores.warehouse import Warehouse

STAGING = "staging"  # {prefix}/staging/: written and checked here, never linked
CHECK_RECORD = "check.json"  # {prefix}/check.json: the passed isolation check of what is published
ISOLATION_CHECK = "report_names_only_its_tenant"  # the blocking asset check of the report assets
LOWEST_CALLS = 10
LOW_ASR_CONFIDENCE = 0.6  # same default as a scorecard's thresholds.low_confidence
LINK_EXPIRY_S = 7 * 24 * 3600  # a weekly report's link lives until the next one
EXTRACTS = ("kpis", "daily", "teams", "agents", "steps", "lowest_calls", "drivers", "categories", "sentiment")
TOP_DRIVERS = 10
# Columns of call_metrics a report reads (the empty view of a period without metrics).
METRICS_COLUMNS = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("agent_id", pa.string()),
        ("team", pa.string()),
        ("duration_s", pa.float64()),
        ("agent_talk_ratio", pa.float64()),
    ]
)
VIEWS = {
    "scores": (catalog.CALL_SCORES.name, catalog.CALL_SCORES.schema),
    "steps": (catalog.CALL_SCORE_STEPS.name, catalog.CALL_SCORE_STEPS.schema),
    "metrics": (catalog.CALL_METRICS.name, METRICS_COLUMNS),
    "tcalls": (catalog.TRANSCRIPT_CALLS.name, catalog.TRANSCRIPT_CALLS.schema),
    # issue 19: conversation analytics (aggregates only reach the report; no quote, no time point)
    "csent": (catalog.CALL_SENTIMENT.name, catalog.CALL_SENTIMENT.schema),
    "ccat": (catalog.CALL_CATEGORIES.name, catalog.CALL_CATEGORIES.schema),
    "cards": (catalog.CALL_CARDS.name, catalog.CALL_CARDS.schema),
}

# Calls are keyed by (call_id, day) within a tenant; metrics join on both.
_CALLS = """
SELECT s.call_id, CAST(s.day AS DATE) AS day, s.score, s.auto_failed, s.needs_review, s.review_reasons,
       s.review_status, s.scorer_version, s.scorecard_version, s.model_revision,
       m.agent_id, m.team, m.duration_s, m.agent_talk_ratio
FROM scores s LEFT JOIN metrics m ON m.call_id = s.call_id AND CAST(m.day AS DATE) = CAST(s.day AS DATE)
"""
SUMMARY_SQL = f"""
WITH c AS ({_CALLS})
SELECT count(*) AS calls, avg(score) AS avg_score,
       avg(CASE WHEN auto_failed THEN 1.0 ELSE 0.0 END) AS auto_fail_rate,
       avg(CASE WHEN needs_review THEN 1.0 ELSE 0.0 END) AS needs_review_rate,
       avg(duration_s) AS avg_duration_s, avg(agent_talk_ratio) AS agent_talk_ratio,
       (SELECT count(*) FILTER (WHERE status = 'passed') * 1.0
               / nullif(count(*) FILTER (WHERE status NOT IN ('not_applicable', 'unverifiable')), 0) FROM steps) AS compliance_rate
FROM c
"""
DAILY_SQL = (
    "SELECT CAST(CAST(day AS DATE) AS VARCHAR) AS day, count(*) AS calls, avg(score) AS avg_score "
    "FROM scores GROUP BY 1 ORDER BY 1"
)
TEAMS_SQL = f"""
WITH c AS ({_CALLS})
SELECT team, count(*) AS calls, avg(score) AS avg_score,
       avg(CASE WHEN auto_failed THEN 1.0 ELSE 0.0 END) AS auto_fail_rate
FROM c GROUP BY team ORDER BY team NULLS LAST
"""
AGENTS_SQL = f"""
WITH c AS ({_CALLS})
SELECT agent_id, any_value(team) AS team, count(*) AS calls, avg(score) AS avg_score,
       avg(CASE WHEN auto_failed THEN 1.0 ELSE 0.0 END) AS auto_fail_rate,
       CAST(count(*) FILTER (WHERE needs_review) AS BIGINT) AS needs_review, avg(agent_talk_ratio) AS agent_talk_ratio
FROM c GROUP BY agent_id ORDER BY avg_score ASC NULLS LAST, agent_id NULLS LAST
"""
STEPS_SQL = """
SELECT step, count(*) FILTER (WHERE status NOT IN ('not_applicable', 'unverifiable')) AS applicable_calls,
       count(*) FILTER (WHERE status = 'passed') AS passed_calls,
       count(*) FILTER (WHERE status = 'passed') * 1.0 / nullif(count(*) FILTER (WHERE status NOT IN ('not_applicable', 'unverifiable')), 0)
           AS compliance_rate
FROM steps GROUP BY step
"""
REVIEW_SQL = """
SELECT count(*) FILTER (WHERE needs_review) AS needs_review,
       count(*) FILTER (WHERE needs_review AND review_status = 'unreviewed') AS unreviewed,
       count(*) FILTER (WHERE review_status <> 'unreviewed') AS reviewed
FROM scores
"""
REASONS_SQL = (
    "SELECT reason, count(*) AS n FROM (SELECT unnest(review_reasons) AS reason FROM scores "
    "WHERE needs_review) GROUP BY reason"
)
LOWEST_SQL = f"""
SELECT call_id, CAST(CAST(day AS DATE) AS VARCHAR) AS day, score, auto_failed, review_status, review_reasons
FROM scores ORDER BY score ASC NULLS FIRST, day, call_id LIMIT {LOWEST_CALLS}
"""
TRANSCRIPTION_SQL = f"""
SELECT count(*) FILTER (WHERE status = 'failed') AS transcription_failed,
       count(*) FILTER (WHERE status <> 'failed' AND mean_confidence < {LOW_ASR_CONFIDENCE}) AS low_asr_confidence,
       count(*) FILTER (WHERE language_mismatch) AS language_mismatch
FROM tcalls
"""
# Issue 19: drivers (the card's first driver: one per call), categories (not drivers), sentiment
DRIVERS_SQL = f"""
SELECT coalesce(driver, 'none') AS driver, count(*) AS calls, count(*) * 1.0 / sum(count(*)) OVER () AS share,
       avg(CASE WHEN outcome = 'resolved' THEN 1.0 ELSE 0.0 END) AS resolved_rate,
       avg(closing_sentiment) AS closing_sentiment
FROM cards GROUP BY 1 ORDER BY calls DESC, driver LIMIT {TOP_DRIVERS}
"""
# calls with no rule driver that got a suggested one (issue 19): shown as suggestions, apart
DRIVER_SUGGESTIONS_SQL = """
SELECT suggested_driver AS driver, count(*) AS calls
FROM cards WHERE driver IS NULL AND suggested_driver IS NOT NULL GROUP BY 1 ORDER BY calls DESC, driver
"""
CATEGORIES_SQL = """
SELECT category, count(DISTINCT call_id) AS calls,
       count(DISTINCT call_id) * 1.0 / nullif((SELECT count(*) FROM csent), 0) AS share
FROM ccat WHERE NOT is_driver GROUP BY 1 ORDER BY calls DESC, category
"""
SENTIMENT_SQL = """
SELECT count(*) AS calls, avg(overall) AS overall, avg(agent) AS agent, avg(customer) AS customer,
       avg(customer_change) AS customer_change,
       avg(CASE WHEN negative_end THEN 1.0 ELSE 0.0 END) AS negative_end_rate
FROM csent
"""
SENTIMENT_DAILY_SQL = (
    "SELECT CAST(CAST(day AS DATE) AS VARCHAR) AS day, avg(customer) AS customer, "
    "avg(agent) AS agent FROM csent GROUP BY 1 ORDER BY 1"
)
MANIFEST_SQL = """
SELECT call_id, CAST(CAST(day AS DATE) AS VARCHAR) AS day, scorer_version, scorecard_version, model_revision,
       review_status
FROM scores ORDER BY day, call_id
"""


def report_prefix(tenant_id: str, period: Period) -> str:
    return catalog.report_prefix(tenant_id, period.kind, period.key).rstrip("/")


def staging_prefix(tenant_id: str, period: Period) -> str:
    """Where a report is written before its blocking check (under the period's prefix, so that the
    retention purge and an erasure of the period reach a leftover too)."""
    return f"{report_prefix(tenant_id, period)}/{STAGING}"


class ReportNotDeliverable(CcrError, ValueError):
    """A report without a passed check record matching its files (P4, P14)."""


def _rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def _query(
    wh: Warehouse, tenant_id: str, period: Period, sql: str, exclude: frozenset[str] = frozenset()
) -> list[dict]:
    return _rows(wh.query_views(sql, tenant_id=tenant_id, days=period.days(), views=VIEWS, exclude_calls=exclude))


def _ingest_outcomes(control: ControlStore, tenant_id: str, period: Period) -> dict[str, int]:
    return ledger.outcomes_between(control, tenant_id, period.start.isoformat(), period.end.isoformat())


def gather(
    wh: Warehouse, control: ControlStore, tenant: Tenant, period: Period, *, generated_at: str
) -> tuple[ReportData, list[dict]]:
    """The report's numbers and the calls behind them, from this tenant's data only (P4)."""
    tid = tenant.id
    # P16: calls of subjects under a restriction of processing are in no view of the report
    restricted = frozenset(control.restricted_call_ids(tid))
    # one DuckDB connection for all of the period's queries, one for the previous period's summary
    q = {
        name: t.to_pylist()
        for name, t in wh.query_views_many(
            {
                "summary": SUMMARY_SQL,
                "daily": DAILY_SQL,
                "steps": STEPS_SQL,
                "review": REVIEW_SQL,
                "reasons": REASONS_SQL,
                "transcription": TRANSCRIPTION_SQL,
                "calls": MANIFEST_SQL,
                "teams": TEAMS_SQL,
                "agents": AGENTS_SQL,
                "lowest": LOWEST_SQL,
                "drivers": DRIVERS_SQL,
                "driver_suggestions": DRIVER_SUGGESTIONS_SQL,
                "categories": CATEGORIES_SQL,
                "sentiment": SENTIMENT_SQL,
                "sentiment_daily": SENTIMENT_DAILY_SQL,
            },
            tenant_id=tid,
            days=period.days(),
            views=VIEWS,
            exclude_calls=restricted,
        ).items()
    }
    current = q["summary"][0]
    prev = {
        name: t.to_pylist()
        for name, t in wh.query_views_many(
            {
                "summary": SUMMARY_SQL,
                "drivers": DRIVERS_SQL.replace(f"LIMIT {TOP_DRIVERS}", ""),
                "categories": CATEGORIES_SQL,
                "sentiment": SENTIMENT_SQL,
            },
            tenant_id=tid,
            days=period.previous().days(),
            views=VIEWS,
            exclude_calls=restricted,
        ).items()
    }
    previous = prev["summary"][0]
    if not previous["calls"]:
        previous = {}
    by_day = {r["day"]: r for r in q["daily"]}
    daily = [
        {"day": d, "calls": (by_day.get(d) or {}).get("calls", 0), "avg_score": (by_day.get(d) or {}).get("avg_score")}
        for d in period.days()
    ]
    order = {s: i for i, s in enumerate(STEP_KINDS)}
    steps = sorted(q["steps"], key=lambda r: (order.get(r["step"], 99), r["step"]))
    review = q["review"][0]
    review["reasons"] = {r["reason"]: r["n"] for r in q["reasons"]}
    outcomes = _ingest_outcomes(control, tid, period)
    quality = {k: outcomes.get(k, 0) for k in ("accepted", "quarantined", "duplicate", "suppressed")}
    quality.update({k: int(v or 0) for k, v in q["transcription"][0].items()})
    calls = q["calls"]
    by_sent = {r["day"]: r for r in q["sentiment_daily"]}
    versions = {
        k: sorted({c[k] for c in calls if c[k]}) for k in ("scorer_version", "scorecard_version", "model_revision")
    }
    data = ReportData(
        tenant_id=tid,
        tenant_name=tenant.display_name,
        language=language_for(list(tenant.languages)),
        period=period,
        generated_at=generated_at,
        current=current,
        previous=previous,
        daily=daily,
        teams=q["teams"],
        agents=q["agents"],
        steps=steps,
        review=review,
        lowest=q["lowest"],
        quality=quality,
        versions=versions,
        drivers=_with_previous(q["drivers"], prev["drivers"], "driver"),
        driver_suggestions=q["driver_suggestions"],
        categories=_with_previous(q["categories"], prev["categories"], "category"),
        sentiment=_sentiment_rows(q["sentiment"][0], prev["sentiment"][0]),
        sentiment_daily=[
            {"day": d, "customer": (by_sent.get(d) or {}).get("customer"), "agent": (by_sent.get(d) or {}).get("agent")}
            for d in period.days()
        ],
    )
    return data, calls


def _with_previous(rows: list[dict], previous: list[dict], key: str) -> list[dict]:
    """Each row with the previous period's calls and share, and the change in calls and in share."""
    before = {r[key]: r for r in previous}
    return [
        {
            **r,
            "previous_calls": (before.get(r[key]) or {}).get("calls", 0),
            "change": r["calls"] - (before.get(r[key]) or {}).get("calls", 0),
            "share_change": (r["share"] - before[r[key]]["share"])
            if r[key] in before and r["share"] is not None and before[r[key]]["share"] is not None
            else None,
        }
        for r in rows
    ]


def _sentiment_rows(current: dict, previous: dict) -> list[dict]:
    """One row per sentiment measure: this period, the previous one, the change."""
    rows = []
    for measure in ("overall", "agent", "customer", "customer_change", "negative_end_rate"):
        cur = current.get(measure) if current.get("calls") else None
        prev = previous.get(measure) if previous.get("calls") else None
        rows.append(
            {
                "measure": measure,
                "value": cur,
                "previous": prev,
                "change": None if cur is None or prev is None else cur - prev,
            }
        )
    return rows


def extract_tables(data: ReportData) -> dict[str, pa.Table]:
    """The report's numbers as tables (CSV and Parquet extracts), each row tagged with tenant and period."""
    tag = {"tenant_id": data.tenant_id, "period_kind": data.period.kind, "period": data.period.key}
    kpis = [
        {"kpi": r["kpi"], "value": r["value"], "previous": r["previous"], "change": r["change"]}
        for r in kpi_changes(data.current, data.previous)
    ]
    lowest = [{**r, "review_reasons": ";".join(r.get("review_reasons") or [])} for r in data.lowest]
    sources = {
        "kpis": kpis,
        "daily": data.daily,
        "teams": data.teams,
        "agents": data.agents,
        "steps": data.steps,
        "lowest_calls": lowest,
        "drivers": data.drivers,
        "categories": data.categories,
        "sentiment": data.sentiment,
    }
    tables = {}
    for name, rows in sources.items():
        rows = [{**tag, **r} for r in rows]
        tables[name] = pa.Table.from_pylist(rows) if rows else pa.table({k: pa.array([], pa.string()) for k in tag})
    return tables


def _csv_bytes(table: pa.Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow(["" if v is None else v for v in row.values()])
    return buf.getvalue().encode("utf-8")


def _parquet_bytes(table: pa.Table) -> bytes:
    fd, tmp = tempfile.mkstemp(suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(tmp)


def generate_report(
    wh: Warehouse,
    control: ControlStore,
    tenant: Tenant,
    period: Period,
    *,
    run_id: str | None,
    actor: str,
    region: str = "local",
    link_expiry_s: int = LINK_EXPIRY_S,
    now: datetime | None = None,
    registry: TenantRegistry | None = None,
) -> dict:
    """Build one tenant-period report, check it in staging and publish it only if the check passed (P4, P14).

    Returns counts, keys, ``published``, the check's ``problems`` (counts and file names, never values)
    and the download link (None when not published). *registry* gives the other tenants whose ids
    the check looks for (without it, only the calls, agents and teams are checked)."""
    now = now or datetime.now(UTC)
    data, calls = gather(wh, control, tenant, period, generated_at=now.strftime("%Y-%m-%d %H:%M UTC"))
    prefix = report_prefix(tenant.id, period)
    files: dict[str, tuple[bytes, str]] = {"report.html": (render_html(data).encode("utf-8"), "write")}
    for name, table in extract_tables(data).items():
        files[f"{name}.csv"] = (_csv_bytes(table), "export")
        files[f"{name}.parquet"] = (_parquet_bytes(table), "export")
    manifest = {
        "tenant_id": tenant.id,
        "period": {
            "kind": period.kind,
            "key": period.key,
            "start": period.start.isoformat(),
            "end_exclusive": period.end.isoformat(),
        },
        "generated_at": now.isoformat(),
        "run_id": run_id,
        "report_version": REPORT_VERSION,
        "language": data.language,
        "scores_are_automated": True,
        "reviewed_calls": sum(1 for c in calls if c["review_status"] != "unreviewed"),
        "versions": data.versions,
        "calls": calls,
        "files": [
            {"name": n, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for n, (b, _) in sorted(files.items())
        ],
    }
    files["manifest.json"] = (json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"), "write")
    purpose = f"tenant report {period.kind} {period.key}"
    staging = staging_prefix(tenant.id, period)
    problems: list[str] = []
    link = None
    with TenantObjects(wh.store, control, tenant.id, actor=actor, purpose=purpose, run_id=run_id) as objects:
        objects.log("read", tenant_key("datasets", tenant.id))  # the period's datasets, read for the report
        try:
            # 1. staging: written, then read back (what the check sees is what may be published)
            for name, (body, _) in files.items():
                objects.put_bytes(f"{staging}/{name}", body)
            staged = {name: wh.store.get_bytes(f"{staging}/{name}") for name in files}
            # 2. the blocking isolation check (P4, P14), on the staged bytes
            problems = isolation_problems(wh, registry, tenant.id, period, staged)
            if not problems:
                # 3. publish: revoke the previous check record first, so that a publication cut short
                # leaves no record (and no link) rather than a record naming other files
                if wh.store.exists(f"{prefix}/{CHECK_RECORD}"):
                    objects.delete(f"{prefix}/{CHECK_RECORD}")
                for name, body in staged.items():
                    objects.put_bytes(f"{prefix}/{name}", body, action=files[name][1])
                record = {
                    "check": ISOLATION_CHECK,
                    "passed": True,
                    "tenant_id": tenant.id,
                    "period_kind": period.kind,
                    "period": period.key,
                    "run_id": run_id,
                    "checked_at": datetime.now(UTC).isoformat(),
                    "files": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(staged.items())},
                }
                objects.put_bytes(f"{prefix}/{CHECK_RECORD}", json.dumps(record, indent=1, sort_keys=True).encode())
        finally:
            # 4. the staging copy goes, passed or not (every version: nothing of a failed report stays)
            for name in files:
                if wh.store.delete_all_versions(f"{staging}/{name}"):
                    objects.log("delete", f"{staging}/{name}")
        if not problems:
            link = objects.access_url(f"{prefix}/report.html", link_expiry_s)
    if problems:
        return {
            "calls": len(calls),
            "files": len(files),
            "prefix": prefix,
            "link": None,
            "published": False,
            "problems": problems,
            "link_expires_s": link_expiry_s,
            "language": data.language,
            "avg_score": None,
        }
    control.record_lineage(
        [
            dict(
                tenant_id=tenant.id,
                artefact_kind="report" if name == "report.html" else "report_file",
                artefact_uri=wh.store.uri(f"{prefix}/{name}"),
                source_uri=wh.store.uri(tenant_key("datasets", tenant.id)),
                asset_key=catalog.asset_path(catalog.report_asset(period.kind)),
                partition_key=period.partition_key,
                run_id=run_id,
                code_version=REPORT_VERSION,
                scorer_version=",".join(data.versions["scorer_version"])[:64] or None,
                scorecard_version=",".join(data.versions["scorecard_version"])[:64] or None,
                model_version=",".join(data.versions["model_revision"])[:200] or None,
                engine="ccr_pipelines reports",
                region=region,
                sha256=hashlib.sha256(body).hexdigest(),
                period_start=period.start.isoformat(),
                period_end=period.end.isoformat(),
            )
            for name, (body, _) in files.items()
        ]
    )
    return {
        "calls": len(calls),
        "files": len(files),
        "prefix": prefix,
        "link": link,
        "published": True,
        "problems": [],
        "link_expires_s": link_expiry_s,
        "language": data.language,
        "avg_score": round(data.current["avg_score"], 2) if data.current.get("avg_score") is not None else None,
    }


def deliverable_key(store, tenant_id: str, period: Period) -> str:
    """P4, P14: the key of a report that may be linked: published with a passed check record whose
    sha256s still match every published file. Raises ``ReportNotDeliverable`` (one line, no values)."""
    prefix = report_prefix(tenant_id, period)
    what = f"{period.kind} report {period.key} of tenant '{tenant_id}'"
    if not store.exists(f"{prefix}/report.html"):
        raise ReportNotDeliverable(f"no {what}")
    try:
        record = json.loads(store.get_bytes(f"{prefix}/{CHECK_RECORD}"))
    except Exception:  # missing or unreadable: the same answer
        raise ReportNotDeliverable(f"the {what} has no passed isolation check record: not deliverable") from None
    if not (
        isinstance(record, dict)
        and record.get("passed") is True
        and record.get("tenant_id") == tenant_id
        and record.get("period") == period.key
        and record.get("period_kind") == period.kind
        and isinstance(record.get("files"), dict)
        and "report.html" in record["files"]
    ):
        raise ReportNotDeliverable(f"the {what} has no passed isolation check record: not deliverable")
    for name, digest in sorted(record["files"].items()):
        key = f"{prefix}/{name}"
        if not isinstance(name, str) or "/" in name or not store.exists(key) or store.sha256(key) != digest:
            raise ReportNotDeliverable(f"the {what} differs from what its isolation check passed: not deliverable")
    return f"{prefix}/report.html"


def verify_isolation(
    wh: Warehouse, registry: TenantRegistry | None, tenant_id: str, period: Period, *, prefix: str | None = None
) -> list[str]:
    """P4/P14: what is stored under *prefix* (default: the published report) names only this tenant."""
    prefix = prefix or report_prefix(tenant_id, period)
    names = ("report.html", "manifest.json", *(f"{n}.csv" for n in EXTRACTS), *(f"{n}.parquet" for n in EXTRACTS))
    return isolation_problems(wh, registry, tenant_id, period, {n: wh.store.get_bytes(f"{prefix}/{n}") for n in names})


def isolation_problems(
    wh: Warehouse, registry: TenantRegistry | None, tenant_id: str, period: Period, files: dict[str, bytes]
) -> list[str]:
    """P4/P14: the report's files (as read back) name only this tenant's calls, agents and teams, and no
    other tenant. Problems are described with counts and file names only, never the values."""
    problems: list[str] = []
    own = _query(wh, tenant_id, period, f"WITH c AS ({_CALLS}) SELECT call_id, agent_id, team FROM c")
    own_calls = {r["call_id"] for r in own}
    own_agents = {r["agent_id"] for r in own if r["agent_id"]}
    own_teams = {r["team"] for r in own if r["team"]}
    others = [t for t in registry.ids() if t != tenant_id] if registry is not None else []
    for name in ("manifest.json", *(f"{n}.parquet" for n in EXTRACTS), "report.html", *(f"{n}.csv" for n in EXTRACTS)):
        if name not in files:
            problems.append(f"{name} is missing")
    if problems:
        return problems
    try:
        manifest = json.loads(files["manifest.json"])
    except ValueError:
        return ["manifest.json is not JSON"]
    if manifest.get("tenant_id") != tenant_id:
        problems.append("manifest.json names another tenant")
    foreign = {c["call_id"] for c in manifest.get("calls", [])} - own_calls
    if foreign:
        problems.append(f"manifest.json lists {len(foreign)} call(s) that are not the tenant's")
    for name in EXTRACTS:
        table = pq.read_table(io.BytesIO(files[f"{name}.parquet"]))
        cols = set(table.column_names)
        if set(table.column("tenant_id").to_pylist()) - {tenant_id}:
            problems.append(f"{name}.parquet has rows of another tenant")
        for col, allowed in (("call_id", own_calls), ("agent_id", own_agents), ("team", own_teams)):
            if col in cols:
                extra = {v for v in table.column(col).to_pylist() if v is not None} - allowed
                if extra:
                    problems.append(f"{name}.parquet has {len(extra)} {col} value(s) that are not the tenant's")
    for name in ("report.html", "manifest.json", *(f"{n}.csv" for n in EXTRACTS)):
        text = files[name].decode("utf-8", errors="replace")
        named = [t for t in others if re.search(rf"(?<![a-z0-9-]){re.escape(t)}(?![a-z0-9-])", text)]
        if named:
            problems.append(f"{name} names {len(named)} other tenant id(s)")
    return problems
