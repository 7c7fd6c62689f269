"""Audio bytes made in-process for tests (no espeak, no ffmpeg)."""

from __future__ import annotations

import io
import math
import struct
import wave

import av
import numpy as np


def wav_bytes(
    seconds: float = 1.0, *, channels: int = 1, rate: int = 16000, freq: float = 440.0, seed: int = 0
) -> bytes:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    rng = np.random.default_rng(seed)
    sig = 0.3 * np.sin(2 * math.pi * freq * t) + 0.01 * rng.standard_normal(n)
    frames = np.repeat((sig * 32767).astype("<i2")[:, None], channels, axis=1)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return buf.getvalue()


def flac_bytes(seconds: float = 1.0, *, channels: int = 1, rate: int = 16000, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    layout = "mono" if channels == 1 else "stereo"
    with av.open(buf, mode="w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout=layout)
        n = int(seconds * rate)
        rng = np.random.default_rng(seed)
        samples = (rng.standard_normal((channels, n)) * 3000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            samples.reshape(1, -1) if channels == 1 else samples.T.reshape(1, -1).copy(), format="s16", layout=layout
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def wav_header_only(seconds_announced: float = 10.0, rate: int = 16000) -> bytes:
    """A WAV whose header announces more samples than it carries (truncated upload)."""
    full = wav_bytes(seconds_announced, rate=rate)
    return full[: 44 + rate * 2 // 2]  # header + 0.5 s of samples


def silence_wav(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


def one_sample_wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(struct.pack("<h", 1000))
    return buf.getvalue()
