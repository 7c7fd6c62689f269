"""Silero's ONNX VAD (faster-whisper) vs whisperx's pyannote VAD on the committed call fixtures
(issue 21): agreement of each VAD's speech regions with the script's utterances, and its time.

The truth of a stereo channel is its own speaker's utterances (the other party is silence there);
of a mono call, every utterance. Agreement is counted on 10 ms frames: precision (detected speech
that is script speech), recall (script speech detected), F1. Each VAD runs with the worker's
settings (``AsrConfig``), loaded once; times are the median of ``--repeat`` passes over every
channel. The WER through the whole worker with each VAD is in benchmarks/RESULTS.md. Run:

    PYTHONPATH=. .venv/bin/python benchmarks/asr_vad_compare.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "ccr_pipelines" / "demo" / "fixtures"
FRAME_S = 0.01


def _frames(regions, n: int) -> list[bool]:
    out = [False] * n
    for a, b in regions:
        for i in range(max(0, int(a / FRAME_S)), min(n, int(b / FRAME_S))):
            out[i] = True
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ccr_pipelines.asr.engine import AsrConfig, PyannoteVad, SileroVad
    from ccr_pipelines.loaders.audio_files import decode_channels

    channels = []  # (label, audio, truth regions)
    for key, e in json.loads((FIXTURES / "expected.json").read_text())["good"].items():
        if not e.get("utterances"):
            continue
        audio = decode_channels(str(FIXTURES / key), sample_rate=16000)
        roles = e.get("channel_roles") or ["agent", "customer"]
        for i, ch in enumerate(audio):
            truth = [(u["start_s"], u["end_s"]) for u in e["utterances"] if len(audio) == 1 or u["speaker"] == roles[i]]
            channels.append((f"{e['call_id']}/{i}", ch, truth))
    audio_s = sum(len(ch) for _l, ch, _t in channels) / 16000
    out = {"channels": len(channels), "channel_audio_s": round(audio_s, 1), "load1": os.getloadavg()[0]}
    for name, cls in (("silero", SileroVad), ("pyannote", PyannoteVad)):
        t = time.perf_counter()
        vad = cls(AsrConfig())
        load_s = time.perf_counter() - t
        times: list[float] = []
        tp = fp = fn = 0
        for _r in range(args.repeat):
            t = time.perf_counter()
            found = [vad.regions(ch) for _l, ch, _t in channels]
            times.append(time.perf_counter() - t)
        for (_label, ch, truth), regions in zip(channels, found):
            n = int(len(ch) / 16000 / FRAME_S) + 1
            f, g = _frames(regions, n), _frames(truth, n)
            tp += sum(a and b for a, b in zip(f, g))
            fp += sum(a and not b for a, b in zip(f, g))
            fn += sum(b and not a for a, b in zip(f, g))
        p, rc = tp / (tp + fp), tp / (tp + fn)
        out[name] = {
            "load_s": round(load_s, 2),
            "pass_s_median": round(statistics.median(times), 2),
            "pass_s_runs": [round(x, 2) for x in times],
            "precision": round(p, 3),
            "recall": round(rc, 3),
            "f1": round(2 * p * rc / (p + rc), 3),
            "regions": sum(len(x) for x in found),
        }
    out["load1_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
