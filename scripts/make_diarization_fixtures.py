#!/usr/bin/env python3
"""Regenerate the diarization material in benchmarks/data/diarization/ (deterministic).

Two-party calls with a known script and known turn times: espeak-ng speaks each turn in the
party's voice, numpy places the turns on an agent (left) and a customer (right) channel with known
silences, and the channels are written as one stereo FLAC. benchmarks/diarization.py sums the channels into a mono
mix: each channel is the truth for its speaker (the agent channel holds both agents of a transferred
call; the truth's "voice" names the second). Pairs: a man and a woman, two men, two women (same
gender), English and French; clean 16 kHz takes and telephone takes (8 kHz band, mu-law, noise,
turns 0.3-0.8 s apart); a transferred call with three voices. espeak's same-gender variants come
from one synthesiser and one vocal-tract model; the ``festival:`` voices (kal and ked, Festival's
diphone voices of two American men, Debian's festvox-kallpc16k and festvox-kdlpc16k) are cut from
two real men's recordings: a same-gender pair closer to two real callers. (Both voices are free to
use and distribute: kal (c) 1998 Alan W Black and Kevin Lenzo, ked (c) 1997 CSTR, University of
Edinburgh; the dialogues spoken with them here are this project's own.) Needs espeak-ng and
festival with those voices (Debian packages) and the project's virtualenv:

    .venv/bin/python scripts/make_diarization_fixtures.py [--only NAME,NAME]

``--only``: regenerate those calls alone (the others' files and truth are kept as they are).

benchmarks/diarization.py only reads the committed output; it never needs espeak.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "diarization"
RATE = 16_000
GAP = 0.7
# Telephone-like takes: turns closer together (gaps cycle through these), the 300-3400 Hz band of an
# 8 kHz recording, 8-bit mu-law, and room/line noise at about 20 dB SNR; seeded, so deterministic.
PHONE_GAPS = (0.35, 0.6, 0.3, 0.8, 0.45)
PHONE_SNR_DB = 20.0

EN = [
    ("agent", "Hello, thank you for calling Globex support, my name is Sam."),
    ("customer", "Hi, my internet has been down since this morning."),
    ("agent", "I am sorry to hear that. How can I help you today?"),
    ("customer", "Could you send a technician to my home, please?"),
    ("agent", "Of course, a technician will come tomorrow between nine and noon."),
    ("customer", "That works for me, thank you very much."),
    ("agent", "Thank you for calling, goodbye."),
]
FR = [
    ("agent", "Bonjour, vous êtes bien chez Acme Énergie, je m'appelle Julie."),
    ("customer", "Bonjour, ma facture de ce mois est beaucoup trop élevée."),
    ("agent", "Je comprends. Que puis-je faire pour vous aujourd'hui ?"),
    ("customer", "Je voudrais comprendre pourquoi elle a doublé."),
    ("agent", "Je vérifie votre compte et je vous envoie le détail par courrier."),
    ("customer", "Très bien, merci beaucoup madame."),
    ("agent", "Merci de votre appel, au revoir."),
]
EN_TRANSFER = [
    ("agent", "Hello, thank you for calling Globex support, my name is Sam."),
    ("customer", "Hi, I was charged twice for my subscription this month."),
    ("agent", "I see. Billing handles that, I am transferring you now, please hold."),
    ("agent2", "Hello, you are speaking with Alex from billing, how can I help?"),
    ("customer", "I was charged twice for my subscription, can you refund one?"),
    ("agent2", "Yes, the second payment will be refunded within five days."),
    ("customer", "Great, thank you."),
    ("agent2", "Is there anything else I can do for you today?"),
    ("customer", "No, that is all, goodbye."),
]
# (name, language, script, {party: voice}, direction, telephone take)
CALLS = [
    ("en-man-woman", "en", EN, {"agent": "en-us+m3", "customer": "en-us+f3"}, "inbound", False),
    ("en-two-men", "en", EN, {"agent": "en-us+m1", "customer": "en-gb+m4"}, "inbound", False),
    ("fr-two-women", "fr", FR, {"agent": "fr+f2", "customer": "fr+f4"}, "inbound", False),
    ("fr-man-woman", "fr", FR, {"agent": "fr+m3", "customer": "fr+f3"}, "inbound", False),
    ("en-two-women-phone", "en", EN, {"agent": "en-us+f2", "customer": "en-gb+f4"}, "inbound", True),
    ("fr-two-men-phone", "fr", FR, {"agent": "fr+m1", "customer": "fr+m4"}, "inbound", True),
    ("fr-man-woman-phone", "fr", FR, {"agent": "fr+f3", "customer": "fr+m3"}, "inbound", True),
    (
        "en-transfer-phone",
        "en",
        EN_TRANSFER,
        {"agent": "en-us+m3", "agent2": "en-gb+m1", "customer": "en-us+f3"},
        "inbound",
        True,
    ),
    # appended, not inserted: a telephone take's noise seed is its call's position
    (
        "en-two-men-festival",
        "en",
        EN,
        {"agent": "festival:kal_diphone", "customer": "festival:ked_diphone"},
        "inbound",
        False,
    ),
    (
        "en-two-men-festival-phone",
        "en",
        EN,
        {"agent": "festival:ked_diphone", "customer": "festival:kal_diphone"},
        "inbound",
        True,
    ),
]


def telephone(x: np.ndarray, seed: int, snr_db: float = PHONE_SNR_DB) -> np.ndarray:
    """An 8 kHz telephone take of 16 kHz audio: 300-3400 Hz band (FFT mask), noise at *snr_db*,
    8-bit mu-law quantisation; returned at 8 kHz."""
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1.0 / RATE)
    spec[(freqs < 300) | (freqs > 3400)] = 0
    y = np.fft.irfft(spec, len(x))[::2]
    rng = np.random.default_rng(seed)
    active = y[np.abs(y) > 0.01]
    power = float(np.mean(active**2)) if len(active) else 1e-4
    y = y + rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(y))
    mu = 255.0
    y = np.clip(y, -1, 1)
    q = np.round(np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu) * 127) / 127
    return (np.sign(q) * ((1 + mu) ** np.abs(q) - 1) / mu).astype(np.float32)


def speak(text: str, voice: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "u.wav"
        if voice.startswith("festival:"):
            festival = ["text2wave", "-eval", f"(voice_{voice.removeprefix('festival:')})", "-o", str(out)]
            subprocess.run(festival, input=text.encode(), check=True)
        else:
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), text], check=True)
        with wave.open(str(out)) as w:
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
    if voice.startswith("festival:"):  # Festival's level varies by voice: peaks at 0.5 (espeak's: 0.6-0.7, similar RMS)
        pcm = pcm * (0.5 / max(float(np.abs(pcm).max()), 1e-6))
    x = np.interp(np.arange(0, len(pcm) * RATE / rate) * rate / RATE, np.arange(len(pcm)), pcm).astype(np.float32)
    idx = np.flatnonzero(np.abs(x) > 0.01)  # trim espeak's own leading and trailing silence
    return x[idx[0] : idx[-1] + 1] if len(idx) else x


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated call names to regenerate (default: all)")
    only = {n for n in ap.parse_args().only.split(",") if n}
    unknown = only - {c[0] for c in CALLS}
    if unknown:
        raise SystemExit(f"no such call: {', '.join(sorted(unknown))}")
    OUT.mkdir(parents=True, exist_ok=True)
    kept = json.loads((OUT / "truth.json").read_text()) if only and (OUT / "truth.json").exists() else {}
    truth = {}
    for n_call, (name, lang, script, voices, direction, phone) in enumerate(CALLS):
        if only and name not in only:
            if name in kept:
                truth[name] = kept[name]
            continue
        parts, t, turns = [], 0.4, []
        for k, (party, text) in enumerate(script):
            audio = speak(text, voices[party])
            role = "agent" if party.startswith("agent") else "customer"
            parts.append((role, int(t * RATE), audio))
            turn = {"speaker": role, "start_s": round(t, 3), "end_s": round(t + len(audio) / RATE, 3), "text": text}
            if party != role:
                turn["voice"] = party
            turns.append(turn)
            t += len(audio) / RATE + (PHONE_GAPS[k % len(PHONE_GAPS)] if phone else GAP)
        n = int((t + 0.3) * RATE)
        stereo = np.zeros((2, n), dtype=np.float32)
        for role, at, audio in parts:
            stereo[0 if role == "agent" else 1, at : at + len(audio)] = audio
        rate = RATE
        if phone:
            stereo = np.stack([telephone(stereo[c], seed=100 * n_call + c) for c in range(2)])
            rate = RATE // 2
        pcm = (np.clip(stereo, -1, 1) * 32767).astype(np.int16)
        with av.open(str(OUT / f"{name}.flac"), "w", format="flac") as container:
            stream = container.add_stream("flac", rate=rate, layout="stereo")
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1, order="F"), format="s16", layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        truth[name] = {
            "language": lang,
            "direction": direction,
            "voices": voices,
            "sample_rate": rate,
            "duration_s": round(n / RATE, 3),
            "turns": turns,
        }
    (OUT / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
