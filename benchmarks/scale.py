"""Scale simulation: one day of many tenants through ingestion (metadata only), metrics + scoring,
dbt marts and tenant reports, on the embedded default, each stage in its own process.

    .venv/bin/python benchmarks/scale.py --tenants 1000 --calls 10000 --calls 100000

Per size and stage it prints wall seconds, peak RSS of the stage's process and the counts
that went in and came out (nothing lost: calls = manifest rows = scored calls = calls in the
marts = calls in the reports). No audio: the ingestion stage runs the inbox sensor's planner
over a listing of N recordings + N sidecars, validates keys and sidecars with the real rules
and writes the manifest partitions, with a fixed probe result instead of decoding audio. The
transcripts are synthetic redacted segments (20 per call) built from the scorecards' own
phrases with ASR-like slips among unrelated talk. ccr_pipelines_tests/test_scale.py runs a
reduced size in CI; the figures in benchmarks/RESULTS.md come from this script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 16)
SEGMENTS_PER_CALL = 20
TALK = [
    "ok",
    "so",
    "my",
    "bill",
    "is",
    "too",
    "high",
    "since",
    "last",
    "month",
    "the",
    "line",
    "drops",
    "every",
    "evening",
    "can",
    "you",
    "check",
    "it",
    "please",
    "yes",
    "of",
    "course",
    "one",
    "moment",
    "thank",
    "you",
]


def _tenants(n: int) -> list[str]:
    return [f"tenant-{i:04d}" for i in range(n)]


def _calls_per_tenant(n_tenants: int, n_calls: int, seed: int) -> dict[str, int]:
    """A skewed day: a few large tenants, a long tail (weights 1/rank^0.8), every tenant ≥ 1 call."""
    weights = [1 / (r + 1) ** 0.8 for r in range(n_tenants)]
    total = sum(weights)
    counts = [max(1, int(n_calls * w / total)) for w in weights]
    rng = random.Random(seed)
    while sum(counts) < n_calls:
        counts[rng.randrange(n_tenants)] += 1
    while sum(counts) > n_calls:
        i = rng.randrange(n_tenants)
        if counts[i] > 1:
            counts[i] -= 1
    return dict(zip(_tenants(n_tenants), counts))


def _registry_file(work: Path, tenants: list[str]) -> Path:
    import yaml

    path = work / "tenants.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "tenants": [
                    {"id": t, "display_name": t, "languages": ["en"], "scorecard": "globex-support.v1"} for t in tenants
                ],
            }
        )
    )
    return path


# -- stages (each runs in a child process) ------------------------------------------------
def stage_ingest(work: str, counts: dict[str, int]) -> dict:
    import pyarrow as pa

    from ccr_pipelines.core.ingest import manifest_row, parse_raw_key, parse_sidecar
    from ccr_pipelines.core.ingest_sensor import plan_tick
    from ccr_pipelines.core.subjects import subject_hashes
    from ccr_pipelines.services.ingest import MANIFEST_DATASET, MANIFEST_SCHEMA, MIN_DAY
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_pipelines.stores.warehouse import Warehouse

    wh = Warehouse(LocalObjectStore(Path(work) / "objects"))
    now = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=20)
    listing, sidecars = [], {}
    for tenant, n in counts.items():
        for i in range(n):
            stem = f"raw/{tenant}/{DAY:%Y/%m/%d}/c-{i:06d}"
            lm = now - timedelta(hours=1, seconds=i % 3000)
            sidecars[f"{stem}.json"] = json.dumps(
                {
                    "agent_id": f"ag-{i % 25:02d}",
                    "team": f"team-{i % 4}",
                    "direction": "inbound",
                    "language": "en",
                    "started_at": f"{DAY.isoformat()}T09:00:00+01:00",
                    "customer_ref": f"cust-{i:06d}",
                    "recording_notice": True,
                }
            ).encode()
            listing += [
                SimpleNamespace(key=f"{stem}.json", etag=f"s{i}", last_modified=lm - timedelta(seconds=1)),
                SimpleNamespace(key=f"{stem}.wav", etag=f"a{i}", last_modified=lm),
            ]
    known, cursor, ticks, rows_by_partition = set(counts), None, 0, {}
    inbox = {o.key: o for o in listing}
    while True:
        plan = plan_tick(inbox.values(), cursor, known_tenants=known, now=now, min_day=MIN_DAY, limit=2000)
        ticks += 1
        if not plan.batches:
            break
        cursor = plan.cursor
        for batch in plan.batches:
            for key in batch.keys:
                obj = inbox.pop(key, None)  # ingestion moves the object out of the inbox
                raw = parse_raw_key(key, min_day=MIN_DAY, max_day=DAY + timedelta(days=1))
                if raw.is_sidecar:
                    continue
                sidecar = parse_sidecar(sidecars[raw.sidecar_key])
                inbox.pop(raw.sidecar_key, None)
                hashes = subject_hashes("scale-benchmark-key", raw.tenant_id, {"customer_ref": sidecar["customer_ref"]})
                row = manifest_row(
                    raw=raw,
                    audio_key=key.replace("raw/", "audio/", 1),
                    etag=obj.etag,
                    sha256=hashlib.sha256(key.encode()).hexdigest(),
                    size=480_000,
                    probe={
                        "duration_s": 180.0,
                        "sample_rate": 8000,
                        "channels": 2,
                        "codec": "pcm_s16le",
                        "container": "wav",
                    },
                    sidecar=sidecar,
                    hashes=hashes,
                    ingested_at=now,
                    run_id="scale",
                )
                rows_by_partition.setdefault((raw.tenant_id, raw.day.isoformat()), []).append(row)
    for (tenant, day), rows in rows_by_partition.items():
        wh.write_partition(MANIFEST_DATASET, tenant, day, pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA))
    return {
        "in": 2 * sum(counts.values()),
        "out": sum(len(r) for r in rows_by_partition.values()),
        "ticks": ticks,
        "partitions": len(rows_by_partition),
    }


def _segments(rng: random.Random, tenant: str, call_ids: list[str], phrases: list[str]) -> list[dict]:
    from ccr_pipelines.core.redaction import TYPES
    from ccr_pipelines.services.redact import REDACTOR_VERSION

    rows = []
    for call_id in call_ids:
        t = 0.0
        for i in range(SEGMENTS_PER_CALL):
            if rng.random() < 0.4:
                words = [w for w in rng.choice(phrases).split() if rng.random() > 0.08]
            else:
                words = rng.choices(TALK, k=rng.randint(3, 14)) + [f"{rng.randint(1, 99)}"]
            dur = 1.0 + 0.35 * len(words)
            rows.append(
                {
                    "tenant_id": tenant,
                    "call_id": call_id,
                    "segment_index": i,
                    "speaker": "agent" if i % 2 == 0 else "customer",
                    "channel": i % 2,
                    "start_s": round(t, 3),
                    "end_s": round(t + dur, 3),
                    "text": " ".join(words),
                    "avg_logprob": -0.2,
                    "speech_regions": [[round(t, 3), round(t + dur, 3)]],
                    **{f"pii_{t}": 0 for t in TYPES},
                    "redactor_version": REDACTOR_VERSION,
                }
            )
            t += dur + rng.uniform(0.2, 1.5)
    return rows


def stage_score(work: str, counts: dict[str, int]) -> dict:
    import pyarrow as pa

    from ccr_pipelines.loaders.config_files import load_tenant_registry
    from ccr_pipelines.services.ingest import MANIFEST_DATASET
    from ccr_pipelines.services.metrics import metrics_partition
    from ccr_pipelines.services.redact import REDACTED_DATASET, REDACTED_SCHEMA
    from ccr_pipelines.services.score import score_partition, scorecard_for
    from ccr_pipelines.stores.control_store import ControlStore
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_pipelines.stores.warehouse import Warehouse

    wh = Warehouse(LocalObjectStore(Path(work) / "objects"))
    control = ControlStore(f"sqlite:///{work}/control.db")
    control.migrate()
    registry = load_tenant_registry(Path(work) / "tenants.yaml")
    rng = random.Random(7)
    scored = measured = 0
    gen_s = 0.0
    for tenant in counts:
        t = registry.require(tenant)
        card = scorecard_for(t)
        phrases = [p for s in card.sections for q in s.questions for p in q.phrases]
        manifest = wh.read_partition(MANIFEST_DATASET, tenant, DAY.isoformat())
        t0 = time.perf_counter()
        segs = _segments(rng, tenant, manifest.column("call_id").to_pylist(), phrases)
        wh.write_partition(
            REDACTED_DATASET, tenant, DAY.isoformat(), pa.Table.from_pylist(segs, schema=REDACTED_SCHEMA)
        )
        gen_s += time.perf_counter() - t0
        measured += metrics_partition(wh, tenant, DAY.isoformat())["calls"]
        scored += score_partition(wh, control, t, DAY.isoformat())["calls"]
    return {"in": sum(counts.values()), "out": scored, "metrics_rows": measured, "synthetic_data_s": round(gen_s, 1)}


def stage_marts(work: str, counts: dict[str, int]) -> dict:
    import duckdb

    from ccr_pipelines.services.marts import run_dbt

    run_dbt(
        "build",
        datasets_root=Path(work) / "objects" / "datasets",
        duckdb_file=Path(work) / "warehouse.duckdb",
        extra_args=["--target-path", str(Path(work) / "dbt_target"), "--log-path", str(Path(work) / "dbt_logs")],
    )
    con = duckdb.connect(str(Path(work) / "warehouse.duckdb"), read_only=True)
    calls = con.execute("select sum(calls) from mart_tenant_month").fetchone()[0]
    tenants = con.execute("select count(distinct tenant_id) from mart_tenant_month").fetchone()[0]
    con.close()
    return {"in": sum(counts.values()), "out": int(calls), "tenants": int(tenants)}


def stage_reports(work: str, counts: dict[str, int]) -> dict:
    from ccr_pipelines.core.report_periods import period_containing
    from ccr_pipelines.loaders.config_files import load_tenant_registry
    from ccr_pipelines.services.reports import generate_report
    from ccr_pipelines.stores.control_store import ControlStore
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_pipelines.stores.warehouse import Warehouse

    wh = Warehouse(LocalObjectStore(Path(work) / "objects"))
    control = ControlStore(f"sqlite:///{work}/control.db")
    registry = load_tenant_registry(Path(work) / "tenants.yaml")
    period = period_containing("weekly", DAY)
    calls = sum(
        generate_report(wh, control, registry.require(t), period, run_id="scale", actor="benchmark")["calls"]
        for t in counts
    )
    return {"in": sum(counts.values()), "out": calls, "reports": len(counts)}


STAGES = {"ingest": stage_ingest, "score": stage_score, "marts": stage_marts, "reports": stage_reports}


def _child(name: str, work: str, counts: dict[str, int], queue) -> None:
    t0 = time.perf_counter()
    try:
        result = STAGES[name](work, counts)
        result["seconds"] = round(time.perf_counter() - t0, 2)
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        queue.put(result)
    except Exception as exc:  # reported, not swallowed: the parent raises it
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def simulate(tenants: int, calls: int, work: Path, seed: int = 1) -> list[dict]:
    work.mkdir(parents=True, exist_ok=True)
    counts = _calls_per_tenant(tenants, calls, seed)
    _registry_file(work, list(counts))
    ctx = mp.get_context("spawn")
    out = []
    for name in STAGES:
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(name, str(work), counts, queue))
        proc.start()
        result = None
        while result is None:  # a child killed (OOM, signal) puts nothing: do not wait for it forever
            try:
                result = queue.get(timeout=5)
            except Exception:  # queue.Empty
                if not proc.is_alive():
                    result = {"error": f"the stage process died (exit code {proc.exitcode})"}
        proc.join()
        if "error" in result:
            raise RuntimeError(f"stage {name}: {result['error']}")
        out.append({"stage": name, "tenants": tenants, "calls": calls, **result})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=1000)
    ap.add_argument("--calls", type=int, action="append", help="repeatable: one simulation per size")
    ap.add_argument("--work", default="var/bench_scale")
    args = ap.parse_args()
    import shutil

    print(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "date": date.today().isoformat(),
            }
        )
    )
    for calls in args.calls or [10_000, 100_000]:
        work = Path(args.work) / f"{args.tenants}x{calls}"
        shutil.rmtree(work, ignore_errors=True)
        for row in simulate(args.tenants, calls, work):
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
