#!/usr/bin/env python3
"""Regenerate the diarization material in benchmarks/data/diarization/ (deterministic).

Two-party calls with a known script and known turn times: espeak-ng speaks each turn in the
party's voice, numpy places the turns on an agent (left) and a customer (right) channel with known
silences, and the channels are written as one stereo FLAC. benchmarks/diarization.py sums the channels into a mono
mix: each channel is the truth for its speaker. Pairs: a man and a woman, two men, two women (same
gender), English and French. Needs espeak-ng (Debian package) and the project's virtualenv:

    .venv/bin/python scripts/make_diarization_fixtures.py

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
# (name, language, script, agent voice, customer voice, direction)
CALLS = [
    ("en-man-woman", "en", EN, "en-us+m3", "en-us+f3", "inbound"),
    ("en-two-men", "en", EN, "en-us+m1", "en-gb+m4", "inbound"),
    ("fr-two-women", "fr", FR, "fr+f2", "fr+f4", "inbound"),
    ("fr-man-woman", "fr", FR, "fr+m3", "fr+f3", "inbound"),
]


def speak(text: str, voice: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "u.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), text], check=True)
        with wave.open(str(out)) as w:
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
    x = np.interp(np.arange(0, len(pcm) * RATE / rate) * rate / RATE, np.arange(len(pcm)), pcm).astype(np.float32)
    idx = np.flatnonzero(np.abs(x) > 0.01)  # trim espeak's own leading and trailing silence
    return x[idx[0] : idx[-1] + 1] if len(idx) else x


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    truth = {}
    for name, lang, script, agent_voice, customer_voice, direction in CALLS:
        voices = {"agent": agent_voice, "customer": customer_voice}
        parts, t, turns = [], 0.4, []
        for speaker, text in script:
            audio = speak(text, voices[speaker])
            parts.append((speaker, int(t * RATE), audio))
            turns.append(
                {"speaker": speaker, "start_s": round(t, 3), "end_s": round(t + len(audio) / RATE, 3), "text": text}
            )
            t += len(audio) / RATE + GAP
        n = int((t + 0.3) * RATE)
        stereo = np.zeros((2, n), dtype=np.float32)
        for speaker, at, audio in parts:
            stereo[0 if speaker == "agent" else 1, at : at + len(audio)] = audio
        pcm = (np.clip(stereo, -1, 1) * 32767).astype(np.int16)
        with av.open(str(OUT / f"{name}.flac"), "w", format="flac") as container:
            stream = container.add_stream("flac", rate=RATE, layout="stereo")
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1, order="F"), format="s16", layout="stereo")
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        truth[name] = {
            "language": lang,
            "direction": direction,
            "voices": voices,
            "duration_s": round(n / RATE, 3),
            "turns": turns,
        }
    (OUT / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
