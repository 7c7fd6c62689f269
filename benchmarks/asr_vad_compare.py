"""Silero's ONNX VAD (faster-whisper) vs whisperx's pyannote VAD on the committed call fixtures
(issue 21): agreement of each VAD's speech regions with the script's utterances, and its time.

The truth of a stereo channel is its own speaker's utterances (the other party is silence there);
of a mono call, every utterance. Agreement is counted on 10 ms frames: precision (detected speech
that is script speech), recall (script speech detected), F1. Each VAD runs with the worker's
settings (``AsrConfig``), loaded once; times are the median of ``--repeat`` passes over every
channel. The WER through the whole worker with each VAD is in benchmarks/RESULTS.md. Run:

    PYTHONPATH=. .venv/bin/python benchmarks/asr_vad_compare.py --repeat 3 \
        [--thresholds 0.5,0.35] [--phone 20,30] [--real DIR] [--no-pyannote]

``--thresholds``: Silero contenders at these speech-probability thresholds (default: 0.3, the worker's, and 0.5, Silero's own).
``--phone``: every channel also as telephone takes at these line-noise SNRs (dB; the diarization
fixtures' transform: 300-3400 Hz, noise, 8-bit mu-law, 8 kHz), truth unchanged. ``--real``: real
recordings with a ``<name>.truth.json`` (benchmarks/diarization.py's format; not committed), their
truth being every speaker's speech. Figures are reported per condition (clean, each SNR).
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


def fixture_channels() -> list[tuple[str, object, list[tuple[float, float]]]]:
    """(label, 16 kHz audio, truth regions) of every channel of the demo fixtures with a script: a
    stereo channel's truth is its own speaker's utterances, a mono call's every utterance."""
    from ccr_pipelines.loaders.audio_files import decode_channels

    channels = []
    for key, e in json.loads((FIXTURES / "expected.json").read_text())["good"].items():
        if not e.get("utterances"):
            continue
        audio = decode_channels(str(FIXTURES / key), sample_rate=16000)
        roles = e.get("channel_roles") or ["agent", "customer"]
        for i, ch in enumerate(audio):
            truth = [(u["start_s"], u["end_s"]) for u in e["utterances"] if len(audio) == 1 or u["speaker"] == roles[i]]
            channels.append((f"{e['call_id']}/{i}", ch, truth))
    return channels


def frame_agreement(found, truth, seconds: float) -> tuple[int, int, int]:
    """(true positive, false positive, false negative) 10 ms frames of *found* speech against *truth*."""
    n = int(seconds / FRAME_S) + 1
    f, g = _frames(found, n), _frames(truth, n)
    tp = sum(a and b for a, b in zip(f, g))
    fp = sum(a and not b for a, b in zip(f, g))
    return tp, fp, sum(b and not a for a, b in zip(f, g))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--thresholds",
        default="0.3,0.5",
        help="Silero speech-probability thresholds to compare (the default, then 0.5)",
    )
    ap.add_argument("--phone", default="", help="line-noise SNRs (dB) of telephone takes to add")
    ap.add_argument("--real", type=Path, help="a folder of real recordings with truth (not committed)")
    ap.add_argument("--no-pyannote", action="store_true", help="skip whisperx's pyannote VAD")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from benchmarks.diarization import real_recordings, telephone_take
    from ccr_pipelines.asr.engine import AsrConfig, PyannoteVad, SileroVad

    channels = fixture_channels()  # (label, audio, truth regions)
    if args.real:
        channels += [
            (f"real:{name}", mono, [(u["start_s"], u["end_s"]) for u in truth["turns"]])
            for name, truth, mono in real_recordings(args.real, phone=False)
        ]
    conditions = {"clean": channels}
    for snr in [float(x) for x in args.phone.split(",") if x]:
        conditions[f"phone {snr:g} dB"] = [
            (label, telephone_take(ch, seed, snr), truth) for seed, (label, ch, truth) in enumerate(channels)
        ]
    audio_s = sum(len(ch) for _l, ch, _t in channels) / 16000
    out = {"channels": len(channels), "channel_audio_s": round(audio_s, 1), "load1": os.getloadavg()[0]}
    contenders = [(f"silero@{t}", SileroVad, {"vad_threshold": float(t)}) for t in args.thresholds.split(",")]
    if not args.no_pyannote:
        contenders.append(("pyannote", PyannoteVad, {"vad": "pyannote"}))
    for name, cls, settings in contenders:
        t = time.perf_counter()
        vad = cls(AsrConfig(**settings))
        load_s = time.perf_counter() - t
        for condition, chans in conditions.items():
            times: list[float] = []
            for _r in range(args.repeat):
                t = time.perf_counter()
                found = [vad.regions(ch) for _l, ch, _t in chans]
                times.append(time.perf_counter() - t)
            row = {"load_s": round(load_s, 2), "pass_s_median": round(statistics.median(times), 2)}
            row["pass_s_runs"] = [round(x, 2) for x in times]
            for part in ("fixtures", "real"):
                tp = fp = fn = 0
                regions = 0
                for (label, ch, truth), got in zip(chans, found):
                    if label.startswith("real:") != (part == "real"):
                        continue
                    counts = frame_agreement(got, truth, len(ch) / 16000)
                    tp, fp, fn = tp + counts[0], fp + counts[1], fn + counts[2]
                    regions += len(got)
                if tp + fn == 0:
                    continue
                p, rc = tp / max(1, tp + fp), tp / (tp + fn)
                row[part] = {
                    "precision": round(p, 3),
                    "recall": round(rc, 3),
                    "f1": round(2 * p * rc / (p + rc), 3) if p + rc else 0.0,
                    "regions": regions,
                }
            out[f"{name} | {condition}"] = row
            print(json.dumps({name: {condition: row}}), flush=True)
    out["load1_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
