"""Redacted audio for playback (P21, issue 18): where a recording must be silenced, and the silencing.

A reviewer listening to a call must not hear a card number. The redactor marks the turns whose
text held personal data (their ``pii_*`` counts); the audio of those turns is silenced on their
every channel, over the turn's exact speech regions, widened by ``PAD_S`` on each side (the VAD's
region edges and the decoder's word placement are not sample-exact). A whole turn is silenced,
not only its personal words: the stored segments carry turn times, not per-word times, and a
turn silenced too widely costs a reviewer a sentence, while one silenced too narrowly leaks.

Pure: numpy arrays in, numpy arrays / bytes out; no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

PLAYBACK_VERSION = "playback-1"  # bump when what is silenced changes: playback copies are re-rendered
PAD_S = 0.25  # each side of a silenced turn: VAD edges and word placement are not sample-exact
PII_COLUMN_PREFIX = "pii_"


def pii_count(segment: Mapping) -> int:
    """Personal-data entities the redactor replaced in this segment (its ``pii_*`` columns)."""
    return sum(int(v or 0) for k, v in segment.items() if k.startswith(PII_COLUMN_PREFIX))


def _merge(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def silence_spans(segments: Sequence[Mapping], *, pad_s: float = PAD_S) -> list[tuple[float, float]]:
    """Merged [(start_s, end_s)] to silence: the speech regions of every segment holding personal
    data, padded. They are silenced on EVERY channel: on a stereo call the other party's microphone
    or the line's echo carries the same words, fainter but audible."""
    spans: list[tuple[float, float]] = []
    for seg in segments:
        if pii_count(seg) == 0:
            continue
        regions = seg.get("speech_regions") or [[seg.get("start_s") or 0.0, seg.get("end_s") or 0.0]]
        spans += [(max(0.0, float(a) - pad_s), float(b) + pad_s) for a, b in regions if a is not None and b is not None]
    return _merge(spans)


def apply_silence(
    channels: Sequence[np.ndarray], spans: Sequence[tuple[float, float]], sample_rate: int
) -> tuple[list[np.ndarray], float]:
    """Copies of *channels* with the spans zeroed on each; (arrays, seconds of the recording silenced)."""
    n = max((len(c) for c in channels), default=0)
    mask = np.zeros(n, dtype=bool)
    for a, b in spans:
        i, j = max(0, int(a * sample_rate)), min(n, int(np.ceil(b * sample_rate)))
        if j > i:
            mask[i:j] = True
    out = []
    for samples in channels:
        arr = np.array(samples, dtype=np.float32, copy=True)
        arr[mask[: len(arr)]] = 0.0
        out.append(arr)
    return out, float(mask.sum()) / float(sample_rate)


def wav_bytes(channels: Sequence[np.ndarray], sample_rate: int) -> bytes:
    """16-bit PCM WAV (RIFF) of float channels in [-1, 1], interleaved when stereo."""
    n = min((len(c) for c in channels), default=0)
    stacked = (
        np.stack([np.asarray(c[:n], dtype=np.float32) for c in channels], axis=1) if channels else np.zeros((0, 1))
    )
    data = (np.clip(stacked, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    nch = max(1, len(channels))
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,
        nch,
        sample_rate,
        sample_rate * nch * 2,
        nch * 2,
        16,
        b"data",
        len(data),
    )
    return header + data
