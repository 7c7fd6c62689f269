"""Audio container inspection and decoding with PyAV (no ``ffmpeg`` program needed).

``probe`` reads the container header and then demuxes and decodes the whole
stream frame by frame (bounded memory) so that a truncated or corrupt file is
caught at ingestion rather than in the middle of transcription. The rules it
applies are core's (``core/audio``); this module does the reading.
"""

from __future__ import annotations

import av

from ..core.audio import ASR_SAMPLE_RATE, check_decoded, check_stream, has_audio_magic
from ..core.ingest import Reason, Rejected

__all__ = ["ASR_SAMPLE_RATE", "decode_channels", "probe"]


def _wav_data_shortfall(path: str) -> int:
    """Bytes a RIFF/WAVE file's 'data' chunk announces beyond the end of the file (0 if none).

    FFmpeg estimates a WAV's duration from the file size, so a truncated upload
    looks like a short, valid file; the chunk header still tells the truth."""
    import os
    import struct

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            cid, clen = struct.unpack("<4sI", fh.read(8))
            if cid == b"data":
                if clen in (0, 0xFFFFFFFF):  # streaming writers leave it unset
                    return 0
                return max(0, pos + 8 + clen - size)
            pos += 8 + clen + (clen & 1)
    return 0


def _has_audio_magic(path: str) -> bool:
    with open(path, "rb") as fh:
        return has_audio_magic(fh.read(12))


def probe(path: str, *, max_duration_s: float) -> dict:
    """Return duration_s, sample_rate, channels, codec, container; raise Rejected."""
    try:
        container = av.open(path, mode="r")
    except av.error.FFmpegError:
        if _has_audio_magic(path):
            raise Rejected(Reason.UNREADABLE_AUDIO, "audio container header is corrupt") from None
        raise Rejected(Reason.NOT_AUDIO, "container not recognised") from None
    with container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise Rejected(Reason.NOT_AUDIO, "no audio stream")
        stream = streams[0]
        codec = stream.codec_context.name if stream.codec_context else "unknown"
        check_stream(codec, None, max_duration_s=max_duration_s)
        sample_rate = int(stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 0)
        header_s = None
        if stream.duration is not None and stream.time_base is not None:
            header_s = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            header_s = container.duration / av.time_base
        check_stream(codec, header_s, max_duration_s=max_duration_s)
        samples = 0
        try:
            for frame in container.decode(stream):
                samples += frame.samples
                sample_rate = frame.sample_rate or sample_rate
                if sample_rate and samples / sample_rate > max_duration_s:
                    raise Rejected(Reason.TOO_LONG, f"duration exceeds {max_duration_s:.0f}s")
        except av.error.FFmpegError:
            if samples == 0:
                raise Rejected(Reason.UNREADABLE_AUDIO, "no decodable audio") from None
            raise Rejected(Reason.TRUNCATED_AUDIO, "decoding stopped with an error") from None
        wav_truncated = (
            samples > 0
            and bool(sample_rate)
            and container.format.name.startswith("wav")
            and _wav_data_shortfall(path) > 0
        )
        decoded_s = check_decoded(samples, sample_rate, header_s, channels, wav_truncated=wav_truncated)
        return {
            "duration_s": round(decoded_s, 3),
            "sample_rate": sample_rate,
            "channels": channels,
            "codec": codec,
            "container": container.format.name.split(",")[0],
        }


def decode_channels(path: str, *, sample_rate: int = ASR_SAMPLE_RATE, max_seconds: float | None = None):
    """Decode to float32 numpy arrays, one per channel, resampled to *sample_rate*.

    Frames are resampled as they are decoded and appended to per-channel
    chunk lists, so peak memory is the output itself (64 kB/s per channel at
    16 kHz), never the whole decoded source at its native rate.
    """
    import numpy as np

    with av.open(path, mode="r") as container:
        stream = next(s for s in container.streams if s.type == "audio")
        channels = int(stream.codec_context.channels or 1)
        layout = "mono" if channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        chunks: list[list] = [[] for _ in range(min(channels, 2))]
        total = 0
        limit = int(max_seconds * sample_rate) if max_seconds else None

        def _take(frames):
            nonlocal total
            for f in frames:
                arr = f.to_ndarray()  # (channels, samples) float32 planar
                for c in range(len(chunks)):
                    chunks[c].append(arr[c])
                total += arr.shape[1]

        for frame in container.decode(stream):
            frame.pts = None  # let the resampler re-time frames; some containers carry gaps
            _take(resampler.resample(frame))
            if limit is not None and total >= limit:
                break
        _take(resampler.resample(None))
    out = [np.concatenate(c).astype(np.float32, copy=False) if c else np.zeros(0, np.float32) for c in chunks]
    if limit is not None:
        out = [o[:limit] for o in out]
    return out
