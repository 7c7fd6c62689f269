#!/usr/bin/env python3
"""Regenerate the demo / test recordings in ccr_pipelines/demo/fixtures/ (deterministic).

Synthesised speech with a known script: espeak-ng speaks each utterance, numpy
places them on an agent and a customer channel, PyAV encodes (FLAC, Opus,
MP3, WAV). Needs the Debian packages espeak-ng (and nothing else: sox is not
used) and the project's virtualenv (numpy, av):

    .venv/bin/python scripts/make_demo_fixtures.py

Tests and `make demo` only read the committed output; they never need espeak.
All names, numbers and addresses are fake.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1] / "ccr_pipelines" / "demo" / "fixtures"
RATE = 16_000
GAP = 0.6  # seconds of silence between turns
VOICES = {"fr": "fr-fr", "en": "en-us"}
# Mono calls: two voices (a mono recording of one voice speaking both parties cannot be diarized,
# and no real call sounds like that); the agent's first, the customer's second.
# The agents keep the default voices, which the small models transcribe best.
MONO_VOICES = {"fr": ("fr-fr", "fr+f3"), "en": ("en-us", "en-us+f3")}

# (speaker, text) turns. Agent speaks on the left channel, customer on the right.
ACME_FULL = [
    ("agent", "Bonjour, vous êtes bien chez Acme Énergie."),
    ("agent", "Je m'appelle Julie."),
    ("agent", "Cet appel peut être enregistré pour la qualité de service."),
    ("customer", "Bonjour, j'ai une question sur ma facture."),
    ("agent", "Que puis-je faire pour vous ?"),
    ("customer", "Vous pouvez me rappeler au zéro six douze trente-quatre cinquante-six soixante-dix-huit."),
    ("agent", "Je corrige votre facture et je vous envoie un avoir."),
    ("agent", "Merci de votre appel, au revoir."),
]
ACME_NO_DISCLOSURE = [
    ("agent", "Bonjour, Acme Énergie, Marc à l'appareil."),
    ("customer", "Bonjour, je voudrais résilier mon contrat."),
    ("agent", "Que puis-je faire pour vous garder ?"),
    ("customer", "Mon adresse est jean point dupont arobase exemple point fr."),
    ("agent", "Je vous envoie une offre, merci de votre appel, au revoir."),
]
ACME_MONO = [
    ("agent", "Bonjour, vous êtes bien chez Acme Énergie, je m'appelle Léo."),
    ("customer", "Bonjour, je signale une coupure de courant."),
    ("agent", "Un technicien passera demain. Merci de votre appel, au revoir."),
]
GLOBEX_FULL = [
    ("agent", "Hello, thank you for calling Globex support."),
    ("agent", "My name is Sam."),
    ("agent", "This call is recorded for quality purposes."),
    ("customer", "Hi, my internet connection keeps dropping."),
    ("agent", "How can I help you today?"),
    ("customer", "You can email me at jane dot doe at example dot com."),
    ("agent", "I will reset your line and send you a new router."),
    ("agent", "Thank you for calling, goodbye."),
]
GLOBEX_LATE = [
    ("agent", "Hello, thank you for calling Globex support, my name is Alex."),
    ("customer", "Hello, I would like to understand my last bill, it is much higher than usual."),
    ("agent", "Of course, let me open your account and look at the details of your last three invoices."),
    ("customer", "Thank you, I have been a customer for many years and this never happened before."),
    ("agent", "I can see a roaming charge from your trip abroad last month, that explains the difference."),
    ("customer", "I see, I did not know roaming was not included in my plan."),
    ("agent", "By the way, this call is recorded for quality purposes."),
    ("agent", "I will add a travel option for next time. Thank you for calling, goodbye."),
]
GLOBEX_MONO = [
    ("agent", "Hello, Globex support, you are speaking with an automated assistant."),
    ("customer", "I need to change my delivery address."),
    ("agent", "Your address is updated. Thank you for calling, goodbye."),
]


def speak(text: str, lang: str, tmp: Path, voice: str | None = None) -> np.ndarray:
    out = tmp / "u.wav"
    subprocess.run(["espeak-ng", "-v", voice or VOICES[lang], "-s", "150", "-w", str(out), text], check=True)
    with wave.open(str(out)) as w:
        rate, data = w.getframerate(), w.readframes(w.getnframes())
    pcm = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    # espeak speaks at 22,050 Hz: resample linearly to 16 kHz (deterministic).
    n = int(round(len(pcm) * RATE / rate))
    return np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm).astype(np.float32)


def render(turns, lang: str, stereo: bool, tmp: Path, lead: float = 0.3, voices: tuple | None = None):
    """Place turns on channels; return (samples[channels, n], utterance timings). *voices*: (agent's,
    customer's) espeak voice; the language's default voice otherwise."""
    pieces, t, timings = [], lead, []
    for speaker, text in turns:
        voice = voices[0 if speaker == "agent" else 1] if voices else None
        audio = speak(text, lang, tmp, voice)
        pieces.append((speaker, int(t * RATE), audio))
        timings.append(
            {"speaker": speaker, "start_s": round(t, 2), "end_s": round(t + len(audio) / RATE, 2), "text": text}
        )
        t += len(audio) / RATE + GAP
    total = int((t + 0.3) * RATE)
    channels = 2 if stereo else 1
    out = np.zeros((channels, total), dtype=np.float32)
    for speaker, start, audio in pieces:
        ch = (0 if speaker == "agent" else 1) if stereo else 0
        out[ch, start : start + len(audio)] += audio * 0.8
    return out, timings


def encode(samples: np.ndarray, fmt: str) -> bytes:
    channels = samples.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    if fmt == "wav":
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes((np.clip(samples.T, -1, 1) * 32767).astype("<i2").tobytes())
        return buf.getvalue()
    codec, container, sample_fmt, rate, opts = {
        "flac": ("flac", "flac", "s16", RATE, {}),
        # Stereo Opus below ~64 kbit/s uses intensity stereo: the customer channel would
        # carry the agent's voice. Call recorders must use enough bitrate; so do we.
        "ogg": ("libopus", "ogg", "flt", 48_000, {"b": "64000"}),
        "opus": ("libopus", "opus", "flt", 48_000, {"b": "64000"}),
        "mp3": ("libmp3lame", "mp3", "fltp", RATE, {"b": "32000"}),
    }[fmt]
    if rate != RATE:
        idx = np.linspace(0, samples.shape[1] - 1, int(samples.shape[1] * rate / RATE))
        samples = np.stack([np.interp(idx, np.arange(samples.shape[1]), c) for c in samples]).astype(np.float32)
    buf = io.BytesIO()
    # fflags bitexact: no encoder version strings, so reruns give the same bytes
    with av.open(buf, mode="w", format=container, options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        stream.codec_context.options = opts
        stream.codec_context.flags |= av.codec.context.Flags.bitexact if hasattr(av.codec.context, "Flags") else 0
        if sample_fmt == "s16":
            arr = (np.clip(samples.T, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        elif sample_fmt == "flt":
            arr = samples.T.astype(np.float32).reshape(1, -1)
        else:
            arr = samples.astype(np.float32)
        frame_size = stream.codec_context.frame_size or 1024
        packed = sample_fmt != "fltp"
        n = samples.shape[1]
        for start in range(0, n, frame_size):
            chunk = (
                arr[:, start * channels : (start + frame_size) * channels]
                if packed
                else arr[:, start : start + frame_size]
            )
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=sample_fmt, layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return buf.getvalue()


def main() -> None:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed to regenerate the fixtures (apt-get install espeak-ng)")
    raw = ROOT / "raw"
    if raw.exists():
        shutil.rmtree(raw)
    expected = {"good": {}, "bad": {}}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        calls = [
            (
                "acme-energie",
                "2026/11/16",
                "c-1001",
                "flac",
                ACME_FULL,
                "fr",
                True,
                "present",
                ["phone"],
                {
                    "agent_id": "ag-17",
                    "team": "team-nord",
                    "direction": "inbound",
                    "campaign": "facturation",
                    "script_id": "acme-accueil-v1",
                    "started_at": "2026-11-16T09:12:00+01:00",
                    "language": "fr",
                    "customer_ref": "cust-8f3a",
                    "customer_phone": "+33 6 12 34 56 78",
                    "recording_notice": True,
                },
            ),
            (
                "acme-energie",
                "2026/11/16",
                "c-1002",
                "ogg",
                ACME_NO_DISCLOSURE,
                "fr",
                True,
                "missing",
                ["email"],
                {
                    "agent_id": "ag-21",
                    "team": "team-sud",
                    "direction": "inbound",
                    "campaign": "retention",
                    "script_id": "acme-accueil-v1",
                    "started_at": "2026-11-16T10:40:00+01:00",
                    "language": "fr",
                    "customer_ref": "cust-77c1",
                    "customer_email": "jean.dupont@exemple.fr",
                    "recording_notice": False,
                },
            ),
            ("acme-energie", "2026/11/17", "c-1003", "wav", ACME_MONO, "fr", False, "missing", [], None),
            (
                "globex-support",
                "2026/11/16",
                "c-2001",
                "flac",
                GLOBEX_FULL,
                "en",
                True,
                "present",
                ["email"],
                {
                    "agent_id": "ag-3",
                    "team": "team-dublin",
                    "direction": "inbound",
                    "campaign": "broadband",
                    "script_id": "globex-support-v2",
                    "started_at": "2026-11-16T14:05:00+00:00",
                    "language": "en",
                    "customer_ref": "cust-a1b2",
                    "recording_notice": True,
                },
            ),
            (
                "globex-support",
                "2026/11/16",
                "c-2002",
                "opus",
                GLOBEX_LATE,
                "en",
                True,
                "late",
                [],
                {
                    "agent_id": "ag-4",
                    "team": "team-dublin",
                    "direction": "outbound",
                    "campaign": "billing",
                    "script_id": "globex-support-v2",
                    "started_at": "2026-11-16T15:30:00Z",
                    "language": "en",
                    "customer_ref": "cust-c3d4",
                    "recording_notice": True,
                },
            ),
            (
                "globex-support",
                "2026/11/17",
                "c-2003",
                "mp3",
                GLOBEX_MONO,
                "en",
                False,
                "missing",
                [],
                {
                    "agent_id": "bot-1",
                    "team": "virtual",
                    "direction": "inbound",
                    "language": "en",
                    "started_at": "2026-11-17T08:00:00+00:00",
                    "recording_notice": True,
                },
            ),
        ]
        for tenant, day, call_id, fmt, turns, lang, stereo, disclosure, pii, sidecar in calls:
            samples, timings = render(turns, lang, stereo, tmp, voices=None if stereo else MONO_VOICES[lang])
            data = encode(samples, fmt)
            key = f"{tenant}/{day}/{call_id}.{fmt}"
            (raw / key).parent.mkdir(parents=True, exist_ok=True)
            (raw / key).write_bytes(data)
            if sidecar:
                (raw / f"{tenant}/{day}/{call_id}.json").write_text(json.dumps(sidecar, indent=1, ensure_ascii=False))
            expected["good"]["raw/" + key] = {
                "tenant_id": tenant,
                "call_id": call_id,
                "language": lang,
                "channels": 2 if stereo else 1,
                "duration_s": round(samples.shape[1] / RATE, 2),
                "sha256": hashlib.sha256(data).hexdigest(),
                "channel_roles": ["agent", "customer"] if stereo else ["mixed"],
                "disclosure": disclosure,
                "contains_pii": pii,
                "has_sidecar": bool(sidecar),
                "utterances": timings,
                "reference_text": {
                    r: " ".join(u["text"] for u in timings if stereo is False or u["speaker"] == r)
                    for r in (["agent", "customer"] if stereo else ["mixed"])
                },
            }
        # the same recording uploaded twice under another id (same sha256)
        dup = raw / "acme-energie/2026/11/17/c-1004.wav"
        shutil.copyfile(raw / "acme-energie/2026/11/17/c-1003.wav", dup)
        expected["good"]["raw/acme-energie/2026/11/17/c-1004.wav"] = {"duplicate_of": "c-1003"}

        good_audio = (raw / "acme-energie/2026/11/16/c-1001.flac").read_bytes()
        short, _ = render([("agent", "Bonjour.")], "fr", False, tmp)
        short_wav = encode(short, "wav")
        bad = {
            "acme-energie/2026/11/16/c-1900.wav": (b"", "empty_file"),
            "acme-energie/2026/11/16/c-1901.flac": (good_audio[:200], "unreadable_audio"),
            "acme-energie/2026/11/16/c-1902.mp3": (b"Ceci n'est pas un fichier audio.\n" * 8, "not_audio"),
            "acme-energie/2026/11/16/c-1903.wav": (short_wav, "sidecar_not_json"),
            "acme-energie/2026/11/16/c-1904.wav": (short_wav + b"", "sidecar_schema"),
            "acme-energie/2026/11/16/0612345678.wav": (short_wav, "personal_data_in_key"),
            "unknown-tenant/2026/11/16/c-0900.wav": (short_wav, "unknown_tenant"),
        }
        for key, (data, reason) in bad.items():
            (raw / key).parent.mkdir(parents=True, exist_ok=True)
            (raw / key).write_bytes(data)
            expected["bad"]["raw/" + key] = reason
        (raw / "acme-energie/2026/11/16/c-1903.json").write_text('{"agent_id": "ag-17", oops')
        (raw / "acme-energie/2026/11/16/c-1904.json").write_text(
            json.dumps({"direction": "sideways", "started_at": "2026-11-16T09:00:00"})
        )
    (ROOT / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file())
    print(f"wrote {sum(1 for p in raw.rglob('*') if p.is_file())} files, {total / 1e6:.2f} MB under {raw}")


if __name__ == "__main__":
    main()
