"""Transcript search at scale (issue 19): index build time and size, and p50 / p95 query latency of
one tenant's ``ccr search`` over N calls of ~20 redacted segments each, on SQLite (FTS5) and
PostgreSQL (tsvector + GIN).

The index is filled the way the pipeline fills it: one ``services/search.index_partition`` call per
tenant-day (the redaction step's hook), the calls spread over --days days. The store also holds a
second tenant (1 % of the calls, the same vocabulary) and a few subject restrictions, so every query
pays the tenant filter and the restriction check. Queries go through ``services/search.search``
(the CLI's function, access-log row included) with a mix of rare, medium and common words, two-word
queries, a speaker filter, a recent and an old seven-day window and a word that is nowhere; each answer is checked
(at most --limit rows, only the tenant's calls, every word present).

    python benchmarks/search.py --calls 100000 --engine sqlite [--url sqlite:////tmp/search.db]
    python benchmarks/search.py --calls 100000 --engine postgres --url postgresql://postgres@127.0.0.1/bench

Target (issue 19): p95 <= 200 ms at 1,000,000 calls (~20M segments).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccr_pipelines.core.search import fold  # noqa: E402
from ccr_pipelines.services import search as svc  # noqa: E402
from ccr_pipelines.stores.control_store import ControlStore, subject_calls, subject_restrictions, utcnow  # noqa: E402

TENANT, OTHER = "bench-acme", "bench-globex"
START = date(2026, 8, 1)
# a call-centre vocabulary (FR and EN, with accents); filler words make the Zipf tail
COMMON = (
    "je vous merci bonjour oui non votre facture contrat compte client conseiller électricité gaz "
    "paiement prélèvement mois problème d'accord très bien madame monsieur the you thank hello yes "
    "bill account payment please"
).split()
MEDIUM = (
    "résilier résiliation remboursement échéancier compteur relevé déménagement mensualité pénalité "
    "réclamation litige retard coupure tarif offre option refund cancel complaint meter outage"
).split()
RARE = ("zéphyr-plus ecowatt tempo huissier médiateur ombudsman surfacturation escroquerie avocat chargeback").split()
FILLER = [f"mot{i}" for i in range(3000)]


def _sentence(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(6, 18)):
        r = rng.random()
        if r < 0.45:
            words.append(rng.choice(COMMON))
        elif r < 0.49:
            words.append(rng.choice(MEDIUM))
        elif r < 0.4915:
            words.append(rng.choice(RARE))
        else:
            words.append(FILLER[min(int(rng.paretovariate(1.1)) - 1, len(FILLER) - 1)])
    return " ".join(words).capitalize() + "."


def _day_tables(tenant: str, calls: int, days: int, segments: int, rng: random.Random, prefix: str):
    per_day = max(1, calls // days)
    n = 0
    for d in range(days):
        day = (START + timedelta(days=d)).isoformat()
        k = per_day if d < days - 1 else calls - n
        if k <= 0:
            continue
        rows = {
            c: [] for c in ("tenant_id", "call_id", "segment_index", "speaker", "start_s", "end_s", "text", "no_speech")
        }
        for c in range(n, n + k):
            for i in range(segments):
                rows["tenant_id"].append(tenant)
                rows["call_id"].append(f"{prefix}{c:07d}")
                rows["segment_index"].append(i)
                rows["speaker"].append("agent" if i % 2 == 0 else "customer")
                rows["start_s"].append(6.0 * i)
                rows["end_s"].append(6.0 * i + 5.0)
                rows["text"].append(_sentence(rng))
                rows["no_speech"].append(False)
        n += k
        yield day, pa.table(rows)


def _queries(rng: random.Random, days: int) -> list[tuple[str, str, dict]]:
    last = (START + timedelta(days=days - 1)).isoformat()
    week = (START + timedelta(days=max(0, days - 7))).isoformat()
    first_week = (START + timedelta(days=min(days - 1, 6))).isoformat()  # an old window: newest-first walks far
    out = []
    for _ in range(40):
        out += [
            ("rare", rng.choice(RARE).upper(), {}),
            ("medium", rng.choice(MEDIUM), {}),
            ("common", rng.choice(COMMON), {}),
            ("two words", f"{rng.choice(MEDIUM)} {rng.choice(COMMON)}", {}),
            ("two rare-ish", f"{rng.choice(RARE)} {rng.choice(MEDIUM)}", {}),
            ("speaker", rng.choice(MEDIUM), {"speaker": "customer"}),
            ("7 days", rng.choice(MEDIUM + RARE), {"day_from": week, "day_to": last}),
            ("first 7 days", rng.choice(MEDIUM + RARE), {"day_to": first_week}),
            ("no hit", "introuvable", {}),
        ]
    rng.shuffle(out)
    return out


def _size(control: ControlStore, url: str) -> int:
    with control.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return int(conn.exec_driver_sql("SELECT pg_total_relation_size('search_segments')").scalar())
        try:
            rows = conn.exec_driver_sql(
                "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE 'search%' OR name LIKE 'ix_search%' GROUP BY name"
            ).fetchall()
            return int(sum(r[1] for r in rows))
        except Exception:  # dbstat not compiled in: the whole file
            return os.path.getsize(url.split("///", 1)[1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--segments", type=int, default=20)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--url")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3, help="query rounds (each all queries); median per class")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument(
        "--reuse", action="store_true", help="query the index an earlier run of the same size built (no build)"
    )
    a = ap.parse_args()
    url = a.url or (f"sqlite:////tmp/ccr-search-bench-{a.calls}.db" if a.engine == "sqlite" else None)
    if url is None:
        ap.error("--url is required with --engine postgres (a fresh database)")
    if url.startswith("sqlite") and not a.reuse:
        path = url.split("///", 1)[1]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    control = ControlStore(url)
    control.migrate()
    t0 = time.perf_counter()
    rows = 0
    if not a.reuse:
        rng = random.Random(19)
        # some subjects and an active restriction: every query pays the restriction check
        control.insert(
            subject_calls,
            [
                dict(
                    tenant_id=TENANT,
                    subject_hash=f"{i:064x}",
                    identifier_type="phone",
                    call_id=f"c-{i * 97 % a.calls:07d}",
                    day=START.isoformat(),
                    created_at=utcnow(),
                )
                for i in range(min(5000, a.calls))
            ],
        )
        control.insert(
            subject_restrictions,
            [
                dict(
                    tenant_id=TENANT,
                    subject_hash=f"{i:064x}",
                    identifier_type="phone",
                    actor="bench",
                    restricted_at=utcnow(),
                )
                for i in range(0, 50)
            ],
        )
        for tenant, calls, prefix in ((TENANT, a.calls, "c-"), (OTHER, max(1, a.calls // 100), "g-")):
            for day, table in _day_tables(tenant, calls, a.days, a.segments, rng, prefix):
                rows += svc.index_partition(control, tenant, day, table)
    build_s = time.perf_counter() - t0
    with control.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE search_segments")
            conn.exec_driver_sql("ANALYZE subject_calls")
        else:
            conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
            conn.exec_driver_sql("ANALYZE")
    optimise_s = time.perf_counter() - t0 - build_s
    size = _size(control, url)
    print(
        f"indexed {rows:,} segments ({a.calls:,} + {max(1, a.calls // 100):,} calls) in {build_s:.1f} s "
        f"(+{optimise_s:.1f} s optimise/analyze), index {size / 2**20:.0f} MiB",
        flush=True,
    )

    per_class: dict[str, list[list[float]]] = {}
    all_runs: list[list[float]] = []
    for run in range(a.runs):
        times: list[float] = []
        for cls, q, kw in _queries(random.Random(100 + run), a.days):
            t = time.perf_counter()
            hits = svc.search(control, TENANT, q, actor="bench", digest_key="bench-key", limit=a.limit, **kw)
            dt = (time.perf_counter() - t) * 1000
            terms = fold(q).split()
            assert len(hits) <= a.limit and all(h["call_id"].startswith("c-") for h in hits), (cls, q)
            assert all(set(terms) <= set(fold(h["text"]).split()) for h in hits), (cls, q)
            if kw.get("speaker"):
                assert all(h["speaker"] == kw["speaker"] for h in hits)
            per_class.setdefault(cls, [[] for _ in range(a.runs)])[run].append(dt)
            times.append(dt)
        all_runs.append(times)

    def pct(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    p95s = [pct(t, 95) for t in all_runs]
    figures = {
        "engine": a.engine,
        "calls": a.calls,
        "segments": rows,
        "build_s": None if a.reuse else round(build_s, 1),
        "reused_index": a.reuse,
        "optimise_s": round(optimise_s, 1),
        "index_mib": round(size / 2**20, 1),
        "queries_per_run": len(all_runs[0]),
        "runs": a.runs,
        "p50_ms": round(statistics.median(pct(t, 50) for t in all_runs), 1),
        "p95_ms": round(statistics.median(p95s), 1),
        "p95_ms_runs": [round(x, 1) for x in p95s],
        "max_ms": round(max(max(t) for t in all_runs), 1),
        "classes": {
            c: {
                "p50_ms": round(statistics.median(pct(r, 50) for r in runs), 1),
                "p95_ms": round(statistics.median(pct(r, 95) for r in runs), 1),
            }
            for c, runs in per_class.items()
        },
        "load": os.getloadavg(),
    }
    print(json.dumps(figures, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2))
    control.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
