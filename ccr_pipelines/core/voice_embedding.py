"""Speaker embeddings of speech units, and their split in two voices (issue 17): arrays only.

The encoder is GE2E (a 3-layer LSTM over 40 mel bands of 1.6 s *partials*; ``asr.voice_encoder``
runs it). This module holds what is not the network: the encoder's input (mel power frames, 25 ms
every 10 ms, Slaney's mel scale: the features the weights were trained on), the partials a unit is
cut into, and the duration-weighted two-way split of the units' embeddings.

Where it is used (``core.diarization.by_embedding``): only once the speaker-segmentation model has
heard two voices side by side, to name the model's parts. Measured in benchmarks/RESULTS.md
("Speaker embeddings per unit", "The speaker embedding in the worker"): the embedding separates
every clean two-voice mix, same-gender pairs included, and a pair of two real men the model's own
split got wrong; it fails same-gender pairs on the telephone band, and it splits a single voice as
readily as two, so the embedding alone never decides that there are two voices.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s: the length the encoder was trained on
PARTIAL_STEP = PARTIAL_FRAMES // 2  # partials overlap by half
TARGET_DBFS = -30.0  # the level the encoder's training audio was normalised to
MIN_EMBED_S = 0.5  # a unit shorter than this is not embedded: it takes its neighbour's voice


def slaney_mel_bank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on Slaney's mel scale (linear to 1 kHz, logarithmic
    above), each normalised to unit area."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0

    def to_mel(f: np.ndarray) -> np.ndarray:
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-9) / min_log_hz) / logstep, f / f_sp)

    def to_hz(m: np.ndarray) -> np.ndarray:
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), m * f_sp)

    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(np.float64(0.0)), to_mel(np.float64(sr / 2)), n_mels + 2))
    bank = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, mid, hi = edges[i : i + 3]
        rise, fall = (freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)
        bank[i] = np.maximum(0.0, np.minimum(rise, fall)) * 2.0 / (hi - lo)
    return bank


@lru_cache(maxsize=1)
def _bank() -> np.ndarray:
    return slaney_mel_bank()


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) float32 mel power frames of 16 kHz *wav*, brought to TARGET_DBFS first; frames
    centred (half a window of zeros at each end)."""
    from .diarization import frames

    x = np.asarray(wav, dtype=np.float64)
    rms = float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
    if rms > 0:
        x = x * (10 ** (TARGET_DBFS / 20) / rms)
    framed = frames(np.pad(x, N_FFT // 2), SAMPLE_RATE, N_FFT / SAMPLE_RATE, HOP / SAMPLE_RATE)
    spec = np.abs(np.fft.rfft(framed * np.hanning(N_FFT + 1)[:-1], N_FFT)) ** 2
    return (spec @ _bank().T).astype(np.float32)


def partials(mels: np.ndarray) -> np.ndarray:
    """(k, PARTIAL_FRAMES, N_MELS): the partials covering *mels*, every PARTIAL_STEP frames, the last
    one ending on the last frame; a unit shorter than one partial is zero-padded."""
    if len(mels) < PARTIAL_FRAMES:
        mels = np.pad(mels, ((0, PARTIAL_FRAMES - len(mels)), (0, 0)))
    starts = list(range(0, len(mels) - PARTIAL_FRAMES + 1, PARTIAL_STEP))
    if starts[-1] + PARTIAL_FRAMES < len(mels):
        starts.append(len(mels) - PARTIAL_FRAMES)
    return np.stack([mels[s : s + PARTIAL_FRAMES] for s in starts])


def unit_embedding(partial_embeddings: np.ndarray) -> np.ndarray:
    """A unit's embedding: its partials' embeddings averaged, unit length."""
    e = np.asarray(partial_embeddings, dtype=np.float64).mean(axis=0)
    return e / max(float(np.linalg.norm(e)), 1e-12)


def split_two(embeddings: np.ndarray, durations: np.ndarray, iterations: int = 50) -> np.ndarray:
    """A label 0/1 per unit: spherical k-means with two centres on the mean-removed embeddings, each
    unit weighted by its duration, started from the two least similar units. Removing the call's
    mean voice leaves what tells its units apart (the channel and the language are shared)."""
    durations = np.asarray(durations, dtype=np.float64)
    z = np.asarray(embeddings, dtype=np.float64)
    z = z - (z * durations[:, None]).sum(axis=0) / durations.sum()
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    i, j = np.unravel_index(np.argmin(z @ z.T), (len(z), len(z)))
    centres = z[[i, j]]
    labels = np.argmax(z @ centres.T, axis=1)
    for _ in range(iterations):
        new = np.stack(
            [
                (z[labels == k] * durations[labels == k, None]).sum(axis=0) if (labels == k).any() else centres[k]
                for k in (0, 1)
            ]
        )
        new /= np.maximum(np.linalg.norm(new, axis=1, keepdims=True), 1e-12)
        if np.allclose(new, centres):
            break
        centres = new
        labels = np.argmax(z @ centres.T, axis=1)
    return labels
