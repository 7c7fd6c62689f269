"""Transcript shaping and quality signals (pure; no torch, no Dagster).

Signals feed later quality gates (P15): low confidence, hallucination
(repetition / high compression ratio), language mismatch, and audio that is
mostly silence but produced many words.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from dataclasses import dataclass

# Whisper's own heuristic: a gzip compression ratio above 2.4 means repetitive text.
HALLUCINATION_COMPRESSION_RATIO = 2.4
# Whisper's own no-speech rule (openai-whisper and faster-whisper skip such a window): the decoder
# thinks the window holds no speech AND is unsure of the words it produced.
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0


def is_no_speech(no_speech_prob: float | None, avg_logprob: float | None, compression_ratio: float) -> bool:
    """The no-speech gate: words the decoder itself scores as non-speech (Whisper's rule), or
    repetitive text (compression ratio above 2.4): likely hallucinations over noise or music.
    Such segments are kept, flagged ``no_speech``, and count neither for nor against a script step."""
    if compression_ratio > HALLUCINATION_COMPRESSION_RATIO:
        return True
    return (
        no_speech_prob is not None
        and no_speech_prob > NO_SPEECH_PROB
        and avg_logprob is not None
        and avg_logprob < NO_SPEECH_LOGPROB
    )


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    if not data:
        return 0.0
    return len(data) / len(zlib.compress(data))


@dataclass(frozen=True)
class Segment:
    index: int
    speaker: str
    start: float
    end: float
    text: str
    avg_logprob: float | None
    no_speech_prob: float | None
    compression_ratio: float
    channel: int | None = None
    # Exact speech regions (VAD) inside the segment: talk time per speaker is
    # measured from these, not from the segment span, which can cover the
    # other party's turns on a stereo call.
    speech_regions: tuple[tuple[float, float], ...] = ()
    no_speech: bool = False  # the no-speech gate (is_no_speech)

    def as_row(self, tenant_id: str, call_id: str) -> dict:
        return {
            "tenant_id": tenant_id,
            "call_id": call_id,
            "segment_index": self.index,
            "speaker": self.speaker,
            "channel": self.channel,
            "start_s": round(self.start, 3),
            "end_s": round(self.end, 3),
            "text": self.text,
            "avg_logprob": self.avg_logprob,
            "no_speech_prob": self.no_speech_prob,
            "compression_ratio": round(self.compression_ratio, 4),
            "no_speech": self.no_speech,
            "speech_regions": [
                [round(a, 3), round(b, 3)] for a, b in (self.speech_regions or ((self.start, self.end),))
            ],
        }


def merge_channel_segments(per_channel: list[tuple[str, int | None, list[dict]]]) -> list[Segment]:
    """Interleave raw whisper segments of each channel (speaker, channel, segments) by start time."""
    flat = []
    for speaker, channel, segs in per_channel:
        for s in segs:
            text = (s.get("text") or "").strip()
            if not text:
                continue
            regions = tuple((float(a), float(b)) for a, b in s.get("speech_regions") or ())
            flat.append(
                (
                    float(s["start"]),
                    float(s["end"]),
                    speaker,
                    channel,
                    text,
                    s.get("avg_logprob"),
                    s.get("no_speech_prob"),
                    regions,
                )
            )
    flat.sort(key=lambda t: (t[0], t[1], t[2]))
    return [
        Segment(i, sp, st, en, tx, lp, ns, cr, ch, rg, is_no_speech(ns, lp, cr))
        for i, (st, en, sp, ch, tx, lp, ns, rg) in enumerate(flat)
        for cr in [compression_ratio(tx)]
    ]


def quality_signals(
    segments: list[Segment], *, audio_seconds: float, expected_language: str | None, detected_language: str | None
) -> dict:
    """Per-call quality signals: no text, only numbers and flags. Segments the no-speech gate flagged
    are counted apart (``no_speech_words``) and make ``hallucination_suspected`` true."""
    gated = [s for s in segments if s.no_speech]
    segments = [s for s in segments if not s.no_speech]
    speech = sum(max(0.0, b - a) for s in segments for a, b in (s.speech_regions or ((s.start, s.end),)))
    words = sum(len(s.text.split()) for s in segments)
    weighted = [(s.avg_logprob, s.end - s.start) for s in segments if s.avg_logprob is not None]
    total_w = sum(w for _, w in weighted)
    mean_lp = sum(lp * w for lp, w in weighted) / total_w if total_w > 0 else None
    full_text = " ".join(s.text for s in segments)
    cr = compression_ratio(full_text) if full_text else 0.0
    no_speech_share = 1.0 - min(1.0, speech / audio_seconds) if audio_seconds > 0 else 1.0
    return {
        "segments": len(segments),
        "words": words,
        "speech_seconds": round(speech, 3),
        "mean_confidence": round(math.exp(mean_lp), 4) if mean_lp is not None else None,
        "no_speech_share": round(no_speech_share, 4),
        "compression_ratio": round(cr, 4),
        "max_segment_compression_ratio": round(max((s.compression_ratio for s in segments), default=0.0), 4),
        "hallucination_suspected": cr > HALLUCINATION_COMPRESSION_RATIO
        or bool(gated)
        or any(s.compression_ratio > HALLUCINATION_COMPRESSION_RATIO for s in segments),
        "no_speech_segments": len(gated),
        "no_speech_words": sum(len(s.text.split()) for s in gated),
        "expected_language": expected_language,
        "detected_language": detected_language,
        "language_mismatch": bool(expected_language and detected_language and expected_language != detected_language),
        "words_per_speech_minute": round(words / (speech / 60.0), 2) if speech > 0 else 0.0,
        # many words over mostly-silent audio is a classic hallucination pattern
        "words_in_silence_suspected": no_speech_share > 0.8 and words > 20,
    }


def turns(
    segments: list[dict], speaker_key: str = "speaker", start_key: str = "start_s", end_key: str = "end_s"
) -> list[tuple[str, float, float]]:
    """(speaker, start, end) of each turn: consecutive segments (in start order) of one speaker."""
    out: list[list] = []
    for s in sorted(segments, key=lambda s: (s[start_key], s[end_key])):
        if out and out[-1][0] == s[speaker_key]:
            out[-1][2] = max(out[-1][2], s[end_key])
        else:
            out.append([s[speaker_key], s[start_key], s[end_key]])
    return [tuple(t) for t in out]


def boundaries_within(
    truth: list[tuple[str, float, float]], found: list[tuple[str, float, float]], tolerance_s: float
) -> tuple[int, int]:
    """(boundaries of *truth* turns matched, all of them): a turn's start (end) is matched when a
    turn of the same speaker in *found* starts (ends) within *tolerance_s* of it."""
    hit = 0
    for speaker, start, end in truth:
        mine = [(a, b) for sp, a, b in found if sp == speaker]
        hit += any(abs(a - start) <= tolerance_s for a, _ in mine)
        hit += any(abs(b - end) <= tolerance_s for _, b in mine)
    return hit, 2 * len(truth)


def normalise_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = re.sub(r"[^\w'\s-]", " ", text)
    return [w for w in re.split(r"[\s-]+", text) if w]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edit distance, reference word count) after normalisation."""
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over normalised words / reference length."""
    errors, n = word_errors(reference, hypothesis)
    if n == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / n
