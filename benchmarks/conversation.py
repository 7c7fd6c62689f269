"""Conversation analytics benchmark (issue 19): what sentiment per turn, categories and call cards
add to the scoring step, per tenant-day, against the vectorised scorer on the same segments.

    .venv/bin/python benchmarks/conversation.py --calls 25000 --runs 3

One French and one English tenant-day of ``--calls`` synthetic redacted calls (the scoring
benchmark's generator: ~20 turns a call, pools of slipped script lines and templated customer
lines), then, ``--runs`` times each, in this process: ``core.batch_scoring.score_segments`` (the
scorer) and ``services.conversation.analyse_partition`` (sentiment, categories, cards) with the
packaged default categories. CPU seconds (``time.process_time``: less sensitive to a shared
machine's load than wall time) and wall seconds, median and spread; the distinct-text share is
printed, because sentiment is computed once per distinct text of a day.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=25_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    import pyarrow.compute as pc
    from scoring import generate_partition

    from ccr_pipelines.core.batch_scoring import score_segments
    from ccr_pipelines.core.tenants import Tenant
    from ccr_pipelines.loaders.config_files import load_scorecard
    from ccr_pipelines.services.conversation import analyse_partition, categories_for
    from ccr_pipelines.services.redact import REDACTED_DATASET
    from ccr_pipelines.services.score import PACKAGED_SCORECARDS
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_pipelines.stores.warehouse import Warehouse

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(LocalObjectStore(Path(tmp) / "objects"))
        for tid, card_id, lang in (
            ("acme-energie", "acme-energie.v1", "fr"),
            ("globex-support", "globex-support.v1", "en"),
        ):
            card = load_scorecard(PACKAGED_SCORECARDS / f"{card_id}.yaml")
            tenant = Tenant(id=tid, display_name=tid, languages=[lang], scorecard=card_id)
            gen = generate_partition(wh, tid, "2026-11-02", args.calls, card, lang, seed=7)
            segs = wh.read_partition(REDACTED_DATASET, tid, "2026-11-02")
            cats = categories_for(tenant)
            timings = {"scorer": [], "conversation": []}
            out = None
            for _ in range(args.runs):
                c0, w0 = time.process_time(), time.perf_counter()
                _, steps = score_segments(card, segs, uses_virtual_agents=False, asr_confidence={})
                c1, w1 = time.process_time(), time.perf_counter()
                out = analyse_partition(tenant, "2026-11-02", segs, language_of={}, steps=steps, cats=cats)
                c2, w2 = time.process_time(), time.perf_counter()
                timings["scorer"].append((c1 - c0, w1 - w0))
                timings["conversation"].append((c2 - c1, w2 - w1))
            row = {
                "tenant": tid,
                "language": lang,
                "calls": args.calls,
                "segments": gen["segments"],
                "distinct_text_share": round(gen["distinct_texts"] / gen["segments"], 3),
                "category_hits": out["call_categories"].num_rows,
                "calls_with_driver": out["call_cards"].num_rows - out["call_cards"].column("driver").null_count,
                "commitments": int(pc.sum(out["call_cards"]["commitments_n"]).as_py() or 0),
            }
            for stage, ts in timings.items():
                cpu = [c for c, _ in ts]
                wall = [w for _, w in ts]
                row[f"{stage}_cpu_s"] = round(statistics.median(cpu), 2)
                row[f"{stage}_cpu_spread_s"] = round(max(cpu) - min(cpu), 2)
                row[f"{stage}_wall_s"] = round(statistics.median(wall), 2)
            row["conversation_vs_scorer_cpu"] = round(row["conversation_cpu_s"] / max(row["scorer_cpu_s"], 1e-9), 2)
            row["conversation_us_per_call"] = round(1e6 * row["conversation_cpu_s"] / args.calls, 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
    per_call = statistics.mean(r["conversation_us_per_call"] for r in rows)
    print(json.dumps({"conversation_cpu_s_per_1M_calls": round(per_call, 1)}), flush=True)


if __name__ == "__main__":
    main()
