"""Loudness and non-talk signals of a call (issue 19), from the audio the ASR worker decodes anyway.

Pure functions over the decoded channels (float samples in [-1, 1]) and the call's segments:

- loudness of each turn in dBFS (RMS of the turn's speech regions on its own channel; the whole
  segment span when it has none), full scale = a sine of amplitude 1 at +3 dBFS, silence floored;
- each speaker's baseline (median of their turns) and raised-voice events: a turn at least
  ``RAISED_DB`` above its speaker's own baseline, once the speaker has ``MIN_TURNS`` turns (a loud
  speaker is not an angry one; louder than themselves is the signal);
- non-talk time (the call's length minus the union of every speaker's speech) and the longest
  silence (leading and trailing silence included, as Contact Lens counts them).

Numbers only: no text goes in or out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median

import numpy as np

FLOOR_DBFS = -100.0
RAISED_DB = 6.0  # twice the sound pressure of the speaker's usual turn
MIN_TURNS = 3
MIN_TURN_S = 0.3  # shorter turns ("oui", a click) carry no level worth comparing


def dbfs(samples: np.ndarray) -> float:
    """RMS level in dBFS (floored at ``FLOOR_DBFS``; an empty slice is the floor)."""
    if samples is None or len(samples) == 0:
        return FLOOR_DBFS
    x = np.asarray(samples, dtype=np.float64)
    # a plain reduction, not np.dot: BLAS would start its thread pool beside the decoder's threads
    rms = math.sqrt(float(np.square(x).mean()))
    return max(FLOOR_DBFS, 20.0 * math.log10(rms) if rms > 0 else FLOOR_DBFS)


def _regions(seg) -> list[tuple[float, float]]:
    regions = list(getattr(seg, "speech_regions", ()) or ())
    return [(float(a), float(b)) for a, b in regions if b > a] or [(float(seg.start), float(seg.end))]


def turn_levels(channels: Sequence[np.ndarray], segments: Sequence, sample_rate: int) -> list[dict]:
    """One row per spoken segment: index, speaker, seconds of speech measured and its dBFS."""
    out = []
    for seg in segments:
        if getattr(seg, "no_speech", False):
            continue
        ch = seg.channel if seg.channel is not None and seg.channel < len(channels) else 0
        audio = channels[ch]
        parts = [audio[max(0, int(a * sample_rate)) : max(0, int(b * sample_rate))] for a, b in _regions(seg)]
        parts = [p for p in parts if len(p)]
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        out.append(
            {
                "segment_index": seg.index,
                "speaker": seg.speaker,
                "start_s": round(float(seg.start), 3),
                "end_s": round(float(seg.end), 3),
                "speech_s": round(len(samples) / sample_rate, 3),
                "dbfs": round(dbfs(samples), 2),
            }
        )
    return out


def raised_voice(
    turns: Sequence[dict], *, threshold_db: float = RAISED_DB, min_turns: int = MIN_TURNS
) -> tuple[dict[str, float], list[dict]]:
    """Each speaker's baseline (median dBFS of their measurable turns) and the turns above it by
    *threshold_db* or more."""
    by_speaker: dict[str, list[dict]] = {}
    for t in turns:
        if t["speech_s"] >= MIN_TURN_S and t["dbfs"] > FLOOR_DBFS:
            by_speaker.setdefault(t["speaker"], []).append(t)
    baselines = {sp: round(median(t["dbfs"] for t in ts), 2) for sp, ts in by_speaker.items()}
    events = []
    for sp, ts in sorted(by_speaker.items()):
        if len(ts) < min_turns:
            continue
        for t in ts:
            above = t["dbfs"] - baselines[sp]
            if above >= threshold_db:
                events.append(
                    {
                        "segment_index": t["segment_index"],
                        "speaker": sp,
                        "start_s": t["start_s"],
                        "end_s": t["end_s"],
                        "dbfs": t["dbfs"],
                        "above_baseline_db": round(above, 2),
                    }
                )
    return baselines, sorted(events, key=lambda e: e["start_s"])


def non_talk(intervals: Sequence[tuple[float, float]], duration_s: float) -> tuple[float, float]:
    """(non-talk seconds, longest silence seconds) of a call of *duration_s* whose speech is *intervals*
    (any speaker; overlaps merged)."""
    spans = sorted((max(0.0, a), min(duration_s, b)) for a, b in intervals if b > a)
    talk, longest, cursor = 0.0, 0.0, 0.0
    for a, b in spans:
        if b <= cursor:
            continue
        if a > cursor:
            longest = max(longest, a - cursor)
        talk += b - max(a, cursor)
        cursor = b
    longest = max(longest, duration_s - cursor)
    return round(max(0.0, duration_s - talk), 3), round(max(0.0, longest), 3)


def call_acoustics(channels: Sequence[np.ndarray], segments: Sequence, sample_rate: int) -> dict:
    """The call's loudness per turn, baselines, raised-voice events, non-talk time and longest silence."""
    duration = len(channels[0]) / sample_rate if channels else 0.0
    turns = turn_levels(channels, segments, sample_rate)
    baselines, events = raised_voice(turns)
    speech = [r for s in segments if not getattr(s, "no_speech", False) for r in _regions(s)]
    non_talk_s, longest = non_talk(speech, duration)
    return {
        "version": "loudness-1",
        "duration_s": round(duration, 3),
        "non_talk_s": non_talk_s,
        "longest_silence_s": longest,
        "baseline_dbfs": baselines,
        "raised_voice": events,
        "turns": turns,
    }
