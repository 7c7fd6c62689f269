"""Worker start-up: loading whisperx's pyannote VAD from its bundled checkpoint (Lightning migrates
it from v1.5.4 at every load) vs from the checkpoint upgraded once into the model cache
(asr/engine.upgraded_vad_checkpoint). Each load in a fresh process, imports excluded.

    PYTHONPATH=. .venv/bin/python benchmarks/asr_vad_load.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import contextlib, io, json, sys, time, logging
logging.disable(logging.CRITICAL)
import torch, whisperx
from whisperx.vads import Pyannote
from ccr_pipelines.asr.engine import upgraded_vad_checkpoint
fp = upgraded_vad_checkpoint() if sys.argv[1] == "upgraded" else None
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    Pyannote(torch.device("cpu"), token=None, model_fp=fp, chunk_size=30, vad_onset=0.5, vad_offset=0.363)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    # one warm-up each (page cache, and the one-off upgrade into the cache)
    for kind in ("bundled", "upgraded"):
        subprocess.run([sys.executable, "-c", CHILD, kind], check=True, capture_output=True)
    out = {}
    for kind in ("bundled", "upgraded"):
        times = []
        for _ in range(args.repeat):
            p = subprocess.run([sys.executable, "-c", CHILD, kind], check=True, capture_output=True, text=True)
            times.append(json.loads(p.stdout.strip().splitlines()[-1])["seconds"])
        out[kind] = {
            "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3),
            "runs": [round(t, 3) for t in times],
        }
    out["saving_median_s"] = round(out["bundled"]["median_s"] - out["upgraded"]["median_s"], 3)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
