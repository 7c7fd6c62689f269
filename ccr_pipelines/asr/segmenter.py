"""The speaker-segmentation model for mono calls whose voices pitch cannot tell apart (issue 17).

whisperx ships pyannote's segmentation model (``whisperx/assets/pytorch_model.bin``, MIT; PyanNet:
SincNet and four bidirectional LSTM layers) as its VAD. On a 5 s window it gives, for every ~17 ms
frame, the activity of up to three *local* speakers, trained on real conversations to tell voices
apart, same-gender ones included. ``core.diarization`` links the local speakers of overlapping
windows into the call's voices; this module only runs the model.

The checkpoint is exported once to ONNX into the model cache (``CCR_MODEL_CACHE``; the worker image
does it at build time, like the VAD checkpoint), and the worker runs it with ONNX Runtime: no torch,
no pyannote import at a launch (those cost ~10 s), nothing fetched. The export needs torch,
pyannote.audio and onnx (all in the ``asr`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
WINDOW_S = 5.0  # the model's own chunk length (its specifications' duration)


def segmentation_onnx() -> Path:
    """The segmentation model as ONNX in the model cache, exported from whisperx's checkpoint the first
    time (atomic: concurrent workers never read a half-written file). Raises ModelUnavailable when
    the checkpoint or the export's libraries are missing."""
    from .engine import bundled_vad_checkpoint
    from .models import ModelUnavailable, cached_export

    src = bundled_vad_checkpoint()
    if src is None:
        raise ModelUnavailable("the speaker-segmentation model needs whisperx (pip install -e '.[asr]')")
    return cached_export(f"speaker-segmentation-{src.stat().st_size}.onnx", _export)


def _export(tmp: Path) -> None:
    import contextlib
    import io
    import warnings

    from .engine import route_library_logs, upgraded_vad_checkpoint
    from .models import ModelUnavailable, export_onnx

    # pyannote's import warns that torchcodec cannot decode files (no FFmpeg): it decodes nothing here
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            import onnx  # noqa: F401  (torch's exporter needs it)
            import torch
            from pyannote.audio import Model
        except ImportError as exc:
            raise ModelUnavailable(
                f"exporting the speaker-segmentation model needs {exc.name} (the asr extra)"
            ) from None
        route_library_logs(lightning=True)
        model = Model.from_pretrained(upgraded_vad_checkpoint())
        model.eval()
        export_onnx(model, torch.zeros(1, 1, int(WINDOW_S * SAMPLE_RATE)), tmp, ("audio", "activity"), "windows")


class SpeakerSegmenter:
    """Runs the exported model with ONNX Runtime: windows of audio in, local speakers' activity out."""

    window_s = WINDOW_S

    def __init__(self, threads: int = 1, batch: int = 16):
        from .models import onnx_session

        self.batch = batch
        self.session = onnx_session(segmentation_onnx(), threads)

    def __call__(self, audio: np.ndarray, starts: list[float]) -> np.ndarray:
        """Activity (windows, frames, 3 local speakers) in 0..1 of the WINDOW_S windows of 16 kHz *audio*
        starting at *starts* (seconds; the last one zero-padded)."""
        n = int(WINDOW_S * SAMPLE_RATE)
        out = []
        for b in range(0, len(starts), self.batch):
            chunk = np.zeros((len(starts[b : b + self.batch]), 1, n), dtype=np.float32)
            for k, s in enumerate(starts[b : b + self.batch]):
                a = int(round(s * SAMPLE_RATE))
                piece = audio[a : a + n]
                chunk[k, 0, : len(piece)] = piece
            out.append(self.session.run(None, {"audio": chunk})[0])
        return np.concatenate(out) if out else np.zeros((0, 0, 3), dtype=np.float32)
