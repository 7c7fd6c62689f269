"""Audio rules, pure: which codecs and durations ingestion accepts, and the checks on what a probe of
the container found. Reading and decoding the file (PyAV) is ``loaders/audio_files``'s job."""

from __future__ import annotations

from .ingest import Reason, Rejected

# Codecs call-centre platforms actually send; anything else is quarantined
# instead of surprising the ASR worker.
ALLOWED_CODECS = frozenset(
    {
        "pcm_s16le",
        "pcm_s16be",
        "pcm_s24le",
        "pcm_s32le",
        "pcm_f32le",
        "pcm_u8",
        "pcm_mulaw",
        "pcm_alaw",
        "adpcm_ima_wav",
        "gsm_ms",
        "flac",
        "mp3",
        "mp3float",
        "vorbis",
        "opus",
    }
)
# A decoded stream shorter than this share of its header duration is truncated.
TRUNCATION_TOLERANCE = 0.9
# Shorter than this is not a call (a 1-sample file, a dropped line): nothing to score.
MIN_DURATION_S = 0.5
ASR_SAMPLE_RATE = 16_000


def has_audio_magic(head: bytes) -> bool:
    """The first bytes name an audio container we accept (so a failure is corruption, not a stray file)."""
    return (
        head[:4] in (b"RIFF", b"fLaC", b"OggS")
        or head[:3] == b"ID3"
        or (len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0)
    )


def check_stream(codec: str, header_s: float | None, *, max_duration_s: float) -> None:
    """The stream's header, before decoding: a supported codec, not announced longer than allowed."""
    if codec not in ALLOWED_CODECS:
        raise Rejected(Reason.UNSUPPORTED_CODEC, f"codec {codec[:30]} is not supported")
    if header_s is not None and header_s > max_duration_s:
        raise Rejected(Reason.TOO_LONG, f"duration {header_s:.0f}s exceeds {max_duration_s:.0f}s")


def check_decoded(
    samples: int, sample_rate: int, header_s: float | None, channels: int, *, wav_truncated: bool
) -> float:
    """What decoding found: some audio, not truncated, long enough, mono or stereo. Returns its seconds."""
    if samples == 0 or not sample_rate:
        raise Rejected(Reason.UNREADABLE_AUDIO, "no decodable audio")
    decoded_s = samples / sample_rate
    if wav_truncated:
        raise Rejected(Reason.TRUNCATED_AUDIO, "WAV data chunk is longer than the file")
    if decoded_s < MIN_DURATION_S:
        raise Rejected(Reason.TOO_SHORT, f"{decoded_s:.3f}s of audio (minimum {MIN_DURATION_S}s)")
    if header_s and decoded_s < header_s * TRUNCATION_TOLERANCE - 0.5:
        raise Rejected(Reason.TRUNCATED_AUDIO, f"decoded {decoded_s:.1f}s of {header_s:.1f}s announced")
    if channels not in (1, 2):
        raise Rejected(Reason.UNSUPPORTED_CODEC, f"{channels} channels (1 or 2 supported)")
    return decoded_s
