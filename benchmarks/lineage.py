"""Lineage lookup latency at scale (issue 9): p50 / p95 of the three auditor lookups
(``ccr lineage call | subject | report``) over a control store holding N calls' lineage.

Per call the pipeline writes seven rows (audio, manifest_row, transcript, redacted_transcript,
playback_audio, call_metrics, call_score; six before issue 18's playback copy) plus one subject-index row; per tenant and period a report with its
files, per tenant the marts, and access-log rows for each report. Rows are bulk-loaded (COPY on
PostgreSQL, executemany in one transaction on SQLite) straight into the migrated schema, then the
lookups run through the same service functions as the CLI.

    python benchmarks/lineage.py --calls 1000000 --engine sqlite   [--url sqlite:////tmp/x.db]
    python benchmarks/lineage.py --calls 1000000 --engine postgres --url postgresql://postgres@127.0.0.1/bench

Target (issue 9): p95 <= 200 ms for each lookup. ``ccr_pipelines_tests/test_lineage_benchmark.py``
runs it at a small size on both engines so it cannot rot.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccr_pipelines.core.lineage import CALL_KINDS  # noqa: E402
from ccr_pipelines.core.report_periods import period_containing  # noqa: E402
from ccr_pipelines.services import lineage as svc  # noqa: E402
from ccr_pipelines.stores.control_store import ControlStore  # noqa: E402

START = date(2026, 8, 1)
BUCKET = "s3://ccr-prod-eu-west-3"
LINEAGE_COLS = (
    "tenant_id",
    "call_id",
    "artefact_kind",
    "artefact_uri",
    "source_uri",
    "asset_key",
    "partition_key",
    "run_id",
    "code_version",
    "model_version",
    "scorer_version",
    "scorecard_version",
    "engine",
    "region",
    "sha256",
    "created_at",
    "deleted_at",
    "period_start",
    "period_end",
)
REPORT_FILES = ("report.html", "manifest.json", "calls.csv", "calls.parquet", "agents.csv", "agents.parquet")
MARTS = ("mart_agent_day", "mart_team_week", "mart_tenant_month", "mart_compliance_step", "mart_review_backlog")
ASSETS = {
    "audio": "silver/ingest/call_manifest",
    "manifest_row": "silver/ingest/call_manifest",
    "transcript": "silver/transcribe/transcripts",
    "redacted_transcript": "silver/analyze/redacted_segments",
    "playback_audio": "silver/analyze/playback_audio",
    "call_metrics": "silver/analyze/call_metrics",
    "call_score": "silver/analyze/call_scores",
}
DATASETS = {
    "manifest_row": "call_manifest",
    "redacted_transcript": "redacted_segments",
    "call_metrics": "call_metrics",
    "call_score": "call_scores",
}


def tenant_of(i: int, tenants: int) -> str:
    return f"bench-t{i % tenants:03d}"


def call_of(i: int) -> str:
    return f"c-{i:07d}"


def day_of(i: int, tenants: int, days: int) -> str:
    return (START + timedelta(days=(i // tenants) % days)).isoformat()


def subject_of(i: int, tenants: int) -> str:
    """Three calls per data subject, within one tenant."""
    return hashlib.sha256(f"{tenant_of(i, tenants)}:{(i // tenants) // 3}".encode()).hexdigest()


def _run(kind: str, tenant: str, day: str) -> str:
    return hashlib.md5(f"{kind}{tenant}{day}".encode()).hexdigest()  # one run per asset and tenant-day


def lineage_rows(calls: int, tenants: int, days: int, created: str):
    """Yield lineage tuples in LINEAGE_COLS order: one per call stage (CALL_KINDS), then reports and marts."""
    for i in range(calls):
        t, c, d = tenant_of(i, tenants), call_of(i), day_of(i, tenants, days)
        y, m, dd = d.split("-")
        audio = f"{BUCKET}/audio/{t}/{y}/{m}/{dd}/{c}.flac"
        for kind in CALL_KINDS:
            if kind == "audio":
                uri, src = audio, f"{BUCKET}/raw/{t}/{y}/{m}/{dd}/{c}.flac"
            elif kind == "transcript":
                uri, src = f"{BUCKET}/restricted/{t}/transcripts/{d}/{c}.json", audio
            elif kind == "playback_audio":
                uri, src = f"{BUCKET}/playback/{t}/{y}/{m}/{dd}/{c}.wav", audio
            else:
                uri, src = f"{BUCKET}/datasets/{t}/{DATASETS[kind]}/day={d}/part.parquet#{c}", audio
            yield (
                t,
                c,
                kind,
                uri,
                src,
                ASSETS[kind],
                d,
                _run(kind, t, d),
                "0.1.0",
                "tiny.en@rev1" if kind in ("transcript", "call_score") else None,
                "scorer-1" if kind == "call_score" else None,
                "default.v1@v1" if kind == "call_score" else None,
                "bench",
                "eu-west-3",
                None,
                created,
                None,
                None,
                None,
            )
    last = START + timedelta(days=days - 1)
    for ti in range(tenants):
        t = f"bench-t{ti:03d}"
        for kind in ("weekly", "monthly"):
            p = period_containing(kind, START)
            while p.start <= last:
                for f in REPORT_FILES:
                    yield (
                        t,
                        None,
                        "report" if f == "report.html" else "report_file",
                        f"{BUCKET}/reports/{t}/{kind}/{p.key}/{f}",
                        f"{BUCKET}/datasets/{t}",
                        f"gold/reports/tenant_{kind}_reports",
                        p.partition_key,
                        _run(kind, t, p.key),
                        "report-1",
                        None,
                        "scorer-1",
                        "default.v1@v1",
                        "ccr reports",
                        "eu-west-3",
                        None,
                        created,
                        None,
                        p.start.isoformat(),
                        p.end.isoformat(),
                    )
                p = period_containing(kind, p.end)
        for mart in MARTS:
            yield (
                t,
                None,
                "mart",
                f"duckdb:///srv/warehouse.duckdb/main.{mart}",
                None,
                "marts/warehouse",
                None,
                _run("mart", t, ""),
                "0.1.0",
                None,
                None,
                None,
                "dbt-core",
                "eu-west-3",
                None,
                created,
                None,
                START.isoformat(),
                (last + timedelta(days=1)).isoformat(),
            )


def subject_rows(calls: int, tenants: int, days: int, created: str):
    for i in range(calls):
        yield (tenant_of(i, tenants), subject_of(i, tenants), "phone", call_of(i), day_of(i, tenants, days), created)


def access_rows(tenants: int, days: int, created: str):
    """Each report file written and exported once, and each period's datasets read."""
    for row in lineage_rows(0, tenants, days, created):
        if row[2] in ("report", "report_file"):
            key = row[3][len(BUCKET) + 1 :]
            yield (created, f"dagster:{row[7]}", row[0], "write", "tenant report", key, row[7])


def load(control: ControlStore, calls: int, tenants: int, days: int, *, chunk: int = 50_000) -> dict:
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    t0 = time.perf_counter()
    tables = {
        "lineage": (LINEAGE_COLS, lineage_rows(calls, tenants, days, created)),
        "subject_calls": (
            ("tenant_id", "subject_hash", "identifier_type", "call_id", "day", "created_at"),
            subject_rows(calls, tenants, days, created),
        ),
        "access_log": (
            ("at", "actor", "tenant_id", "action", "purpose", "object", "run_id"),
            access_rows(tenants, days, created),
        ),
    }
    counts = {}
    raw = control.engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, (cols, rows) in tables.items():
            n = 0
            if control.engine.dialect.name == "postgresql":
                while True:
                    buf = io.StringIO()
                    w = csv.writer(buf)
                    k = 0
                    for r in rows:
                        w.writerow(["\\N" if v is None else v for v in r])
                        k += 1
                        if k == chunk:
                            break
                    if not k:
                        break
                    buf.seek(0)
                    cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf)
                    n += k
            else:
                sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
                batch = []
                for r in rows:
                    batch.append(r)
                    if len(batch) == chunk:
                        cur.executemany(sql, batch)
                        n += len(batch)
                        batch = []
                if batch:
                    cur.executemany(sql, batch)
                    n += len(batch)
            counts[table] = n
        raw.commit()
        if control.engine.dialect.name == "postgresql":
            cur.execute("ANALYZE lineage; ANALYZE subject_calls; ANALYZE access_log")
        else:
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    counts["load_s"] = round(time.perf_counter() - t0, 1)
    return counts


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def measure(control: ControlStore, calls: int, tenants: int, days: int, *, samples: int = 200, seed: int = 7) -> dict:
    rng = random.Random(seed)
    out = {}
    prefix = None
    lookups = {
        "call": lambda i: svc.call_lineage(control, tenant_of(i, tenants), call_of(i), uri_prefix=prefix),
        "subject": lambda i: svc.subject_lineage(control, tenant_of(i, tenants), [subject_of(i, tenants)]),
        "report": lambda i: svc.report_lineage(
            control, tenant_of(i, tenants), period_containing("weekly", date.fromisoformat(day_of(i, tenants, days)))
        ),
    }
    for name, fn in lookups.items():
        fn(0)  # warm the connection pool and the page cache for a fair per-lookup figure
        times = []
        for _ in range(samples):
            i = rng.randrange(calls)
            t0 = time.perf_counter()
            ans = fn(i)
            times.append((time.perf_counter() - t0) * 1000)
            check(name, ans, i, tenants)
        out[name] = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(_pct(times, 95), 2),
            "max_ms": round(max(times), 2),
            "samples": samples,
        }
    return out


def check(name: str, ans: dict, i: int, tenants: int) -> None:
    """The answers are right, not just fast."""
    if name == "call":
        assert ans["found"] and set(CALL_KINDS) <= set(ans["stages"]) and {"report", "mart"} <= set(ans["stages"]), ans[
            "stages"
        ]
        assert all(a["call_id"] in (None, call_of(i)) for a in ans["artefacts"])
        assert {a["kind"] for a in ans["artefacts"] if a["call_id"] is None} <= {"report", "report_file", "mart"}
    elif name == "subject":
        assert call_of(i) in [c["call_id"] for c in ans["calls"]] and 1 <= len(ans["calls"]) <= 3
    else:
        assert ans["found"] and call_of(i) in ans["calls"], "report lookup misses a call"
        assert all(int(c[2:]) % tenants == i % tenants for c in ans["calls"])  # P4: one tenant


def run(url: str, calls: int, tenants: int, days: int, samples: int) -> dict:
    control = ControlStore(url)
    control.migrate()
    loaded = load(control, calls, tenants, days)
    result = {
        "engine": control.engine.dialect.name,
        "calls": calls,
        "tenants": tenants,
        "days": days,
        "rows": loaded,
        "lookups": measure(control, calls, tenants, days, samples=samples),
    }
    control.dispose()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--url", help="control-store URL (default: a fresh SQLite file under /tmp)")
    a = ap.parse_args()
    url = a.url or f"sqlite:////tmp/ccr_lineage_bench_{os.getpid()}.db"
    if a.engine == "postgres" and not url.startswith("postgresql"):
        ap.error("--engine postgres needs --url postgresql://…")
    before = os.popen("uptime").read().strip()  # the machine is shared: say how loaded it was
    result = run(url, a.calls, a.tenants, a.days, a.samples)
    print(json.dumps({"uptime_before": before, "uptime_after": os.popen("uptime").read().strip(), **result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
