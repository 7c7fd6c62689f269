"""What loudness, raised voice and non-talk (issue 19) add to the ASR worker's wall time.

The production worker (``run_batch``) on the committed English fixtures (benchmarks/asr.py's batch:
``--repeat`` copies of c-2001, c-2002, c-2003), with the worker's ``call_acoustics`` wrapped in a
timer: its share of the batch's wall time is what the feature adds (it runs once per call, on the
channels the worker has decoded anyway). Each run also reports the same batch with the function
replaced by a no-op, for the plain wall-time difference (noisier on a shared machine).

    python benchmarks/loudness.py --repeat 4 --runs 3

Target (issue 19): <= 5 % of the worker's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asr as asr_bench  # noqa: E402  (benchmarks/asr.py: the fixtures batch and the worker contender)

from ccr_pipelines.asr import worker  # noqa: E402


def one(repeat: int, *, acoustics: bool) -> dict:
    real = worker.call_acoustics
    spent = [0.0, 0]

    def timed(*a, **kw):
        t = time.perf_counter()
        out = real(*a, **kw) if acoustics else {}
        spent[0] += time.perf_counter() - t
        spent[1] += 1
        return out

    worker.call_acoustics = timed
    try:
        res = asr_bench.contender_worker(asr_bench._calls(repeat))
    finally:
        worker.call_acoustics = real
    return {"wall_s": res["wall_s"], "audio_s": res["audio_s"], "acoustics_s": spent[0], "calls": spent[1]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    runs = []
    for _ in range(a.runs):
        on = one(a.repeat, acoustics=True)
        off = one(a.repeat, acoustics=False)
        runs.append(
            {
                "with": on,
                "without": off,
                "share_pct": 100 * on["acoustics_s"] / on["wall_s"],
                "wall_diff_pct": 100 * (on["wall_s"] - off["wall_s"]) / off["wall_s"],
            }
        )
        print(json.dumps(runs[-1]), flush=True)
    shares = [r["share_pct"] for r in runs]
    diffs = [r["wall_diff_pct"] for r in runs]
    print(
        json.dumps(
            {
                "calls": runs[0]["with"]["calls"],
                "audio_s": round(runs[0]["with"]["audio_s"], 1),
                "acoustics_ms_per_call": round(
                    1000 * statistics.median(r["with"]["acoustics_s"] / r["with"]["calls"] for r in runs), 2
                ),
                "share_pct_median": round(statistics.median(shares), 3),
                "share_pct_range": [round(min(shares), 3), round(max(shares), 3)],
                "wall_diff_pct_median": round(statistics.median(diffs), 1),
                "wall_diff_pct_range": [round(min(diffs), 1), round(max(diffs), 1)],
                "load": os.getloadavg(),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
