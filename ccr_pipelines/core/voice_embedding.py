"""Speaker embeddings of speech units, and their split in two voices (issue 17): arrays only.

The encoder is CAM++ (``asr.voice_encoder`` runs it). This module holds what is not the network: its
input, Kaldi's log mel filter bank (80 bins, 25 ms every 10 ms: the features the weights were
trained on, computed in numpy as torchaudio's ``compliance.kaldi.fbank`` computes them), and the
duration-weighted two-way split of the units' embeddings.

Where it is used (``core.diarization.by_embedding``): only once the speaker-segmentation model has
heard two voices side by side, to name the model's parts. Measured in benchmarks/RESULTS.md
("Speaker embeddings per unit", "CAM++ in the worker"): the embedding separates every clean
two-voice mix and two men on the telephone band, but it splits a single voice as readily as two
(the cosine of two real women's voices is within the range of one voice's two halves), so the
embedding alone never decides that there are two voices.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16_000
MIN_EMBED_S = 0.5  # a unit shorter than this is not embedded: it takes its neighbour's voice
FBANK_BINS = 80  # CAM++'s input: Kaldi's log mel filter bank
KALDI_FRAME, KALDI_HOP, KALDI_FFT = 400, 160, 512  # 25 ms every 10 ms, the frame padded to a power of two
KALDI_PREEMPHASIS, KALDI_POVEY, KALDI_LOW_HZ = 0.97, 0.85, 20.0


def kaldi_mel_bank(n_mels: int = FBANK_BINS, sr: int = SAMPLE_RATE, n_fft: int = KALDI_FFT) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) Kaldi's triangular filters: equal widths on the mel scale
    1127 ln(1 + f/700) from KALDI_LOW_HZ to Nyquist, unnormalised, the Nyquist bin left out."""

    def mel(f):
        return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)

    lo, hi = mel(KALDI_LOW_HZ), mel(sr / 2)
    delta = (hi - lo) / (n_mels + 1)
    at = mel(np.arange(n_fft // 2) * sr / n_fft)
    bank = np.zeros((n_mels, n_fft // 2 + 1))
    for m in range(n_mels):
        left, centre, right = lo + m * delta, lo + (m + 1) * delta, lo + (m + 2) * delta
        bank[m, : n_fft // 2] = np.maximum(
            0.0, np.minimum((at - left) / (centre - left), (right - at) / (right - centre))
        )
    return bank


@lru_cache(maxsize=1)
def _kaldi_bank() -> np.ndarray:
    return kaldi_mel_bank().T.copy()


@lru_cache(maxsize=1)
def _povey_window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * math.pi * np.arange(KALDI_FRAME) / (KALDI_FRAME - 1))) ** KALDI_POVEY


def kaldi_fbank(wav: np.ndarray) -> np.ndarray:
    """(frames, FBANK_BINS) float32 log mel energies of 16 kHz *wav* as Kaldi's ``compute-fbank-feats``
    computes them with its defaults and no dither (torchaudio's ``compliance.kaldi.fbank``; checked
    against it in the tests): frames inside the signal only, each with its mean removed,
    pre-emphasised, Povey-windowed, its power spectrum through the mel bank, the log floored at
    float32's epsilon."""
    x = np.asarray(wav, dtype=np.float64)
    if len(x) < KALDI_FRAME:
        return np.zeros((0, FBANK_BINS), dtype=np.float32)
    from .diarization import frames

    f = frames(x, SAMPLE_RATE, KALDI_FRAME / SAMPLE_RATE, KALDI_HOP / SAMPLE_RATE)
    f = f - f.mean(axis=1, keepdims=True)
    f = np.concatenate([f[:, :1] * (1 - KALDI_PREEMPHASIS), f[:, 1:] - KALDI_PREEMPHASIS * f[:, :-1]], axis=1)
    power = np.abs(np.fft.rfft(f * _povey_window(), KALDI_FFT)) ** 2
    return np.log(np.maximum(power @ _kaldi_bank(), np.finfo(np.float32).eps)).astype(np.float32)


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
