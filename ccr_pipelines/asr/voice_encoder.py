"""The speaker-embedding model for mono calls the segmentation model hears as two voices (issue 17).

GE2E (Wan et al., 2018: a 3-layer LSTM of 256 units over 40 mel bands, then a linear layer, ReLU
and unit length) as trained by Resemblyzer (Apache-2.0), whose wheel ships the weights
(``resemblyzer/pretrained.pt``, 17 MB): nothing is fetched from a hub. Only that file is read; the
``resemblyzer`` module is never imported (it imports librosa and webrtcvad, which are not installed:
the package goes in with ``--no-deps``, see ``requirements-nodeps.txt``).

Like the segmentation model, the checkpoint is exported once to ONNX into the model cache (the
worker image does it at build time; it needs torch, from the ``asr`` extra), and the worker runs it
with ONNX Runtime: no torch at a launch. The features, the partials and the split are
``core.voice_embedding``'s.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core import voice_embedding as ve

DISTRIBUTION = "resemblyzer"
WEIGHTS_FILE = "resemblyzer/pretrained.pt"
HIDDEN = 256
LAYERS = 3


@lru_cache(maxsize=1)
def encoder_weights() -> Path | None:
    """Resemblyzer's shipped GE2E checkpoint, found through the package's metadata (no import), or
    None when the package is not installed. Looked up once per process: the worker asks per mono call."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution(DISTRIBUTION).locate_file(WEIGHTS_FILE)))
    except PackageNotFoundError:
        return None
    return path if path.is_file() else None


def encoder_version() -> str | None:
    """What the transcript's engine_versions records, or None when the encoder is not installed."""
    from importlib.metadata import version

    return f"resemblyzer {version(DISTRIBUTION)} GE2E (onnx)" if encoder_weights() else None


def voice_encoder_onnx() -> Path:
    """The encoder as ONNX in the model cache, exported from the shipped checkpoint the first time.
    Raises ModelUnavailable when the package or torch is missing."""
    from .models import ModelUnavailable, cached_export

    src = encoder_weights()
    if src is None:
        raise ModelUnavailable(
            "the speaker-embedding model needs the package resemblyzer (pip install --no-deps -r requirements-nodeps.txt)"
        )
    return cached_export(f"voice-encoder-ge2e-{src.stat().st_size}.onnx", lambda tmp: _export(src, tmp))


def _export(src: Path, tmp: Path) -> None:
    from .models import ModelUnavailable, export_onnx

    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        import torch
    except ImportError as exc:
        raise ModelUnavailable(f"exporting the speaker-embedding model needs {exc.name} (the asr extra)") from None

    class Ge2e(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(ve.N_MELS, HIDDEN, LAYERS, batch_first=True)
            self.linear = torch.nn.Linear(HIDDEN, HIDDEN)

        def forward(self, mels):
            _out, (hidden, _cell) = self.lstm(mels)
            e = torch.relu(self.linear(hidden[-1]))
            return e / torch.clamp(torch.norm(e, dim=1, keepdim=True), min=1e-12)

    model = Ge2e()
    state = torch.load(str(src), map_location="cpu", weights_only=False)
    state = state.get("model_state", state) if isinstance(state, dict) else {}
    missing, _unused = model.load_state_dict(state, strict=False)
    if missing:
        raise ModelUnavailable(f"{src}: not a GE2E checkpoint (missing {', '.join(missing)})")
    model.eval()
    export_onnx(model, torch.zeros(1, ve.PARTIAL_FRAMES, ve.N_MELS), tmp, ("mels", "embedding"), "partials")


class VoiceEncoder:
    """Runs the exported encoder with ONNX Runtime: spans of audio in, one embedding per span out."""

    def __init__(self, threads: int = 1, batch: int = 32):
        from .models import onnx_session

        self.batch = batch
        self.session = onnx_session(voice_encoder_onnx(), threads)

    def partial_embeddings(self, parts: np.ndarray) -> np.ndarray:
        """(k, HIDDEN) unit-length embeddings of (k, PARTIAL_FRAMES, N_MELS) partials."""
        out = [
            self.session.run(None, {"mels": np.ascontiguousarray(parts[b : b + self.batch], dtype=np.float32)})[0]
            for b in range(0, len(parts), self.batch)
        ]
        return np.concatenate(out) if out else np.zeros((0, HIDDEN), dtype=np.float32)

    def __call__(self, audio: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
        """(len(spans), HIDDEN): each span of 16 kHz *audio* (start, end seconds) embedded: its partials
        run in batches across spans, averaged per span."""
        cut = [ve.partials(ve.mel_frames(audio[int(a * ve.SAMPLE_RATE) : int(b * ve.SAMPLE_RATE)])) for a, b in spans]
        if not cut:
            return np.zeros((0, HIDDEN))
        every = self.partial_embeddings(np.concatenate(cut))
        bounds = np.cumsum([0, *(len(c) for c in cut)])
        return np.stack([ve.unit_embedding(every[x:y]) for x, y in zip(bounds[:-1], bounds[1:])])
