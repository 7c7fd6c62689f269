"""The model volume's folder (issue 16): a mounted faster-whisper folder must hold model.bin,
config.json, tokenizer.json and the vocabulary, or the worker stops with one line before loading
(never a hub download); the one-off fill step copies, verifies checksums and renames into place.
Library chatter at model load goes to the log, not the console."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccr_pipelines.asr.models import ModelUnavailable, fill, resolve_model

REPO = Path(__file__).resolve().parents[1]
FILES = {
    "model.bin": b"\0" * 4096,
    "config.json": b'{"lang_ids": [1, 2]}',
    "tokenizer.json": b"{}",
    "vocabulary.json": b"[]",
}


def _folder(path: Path, files: dict[str, bytes], sums: bool = True) -> Path:
    path.mkdir(parents=True)
    for name, body in files.items():
        (path / name).write_bytes(body)
    if sums:
        (path / "SHA256SUMS").write_text("".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in files.items()))
    return path


def test_a_model_folder_without_its_tokenizer_is_refused_in_one_line_naming_the_setting(tmp_path):
    ok = _folder(tmp_path / "large-v3", FILES)
    assert resolve_model(str(ok), setting="asr.model").name == "large-v3"
    partial = _folder(tmp_path / "partial", {k: v for k, v in FILES.items() if k != "tokenizer.json"})
    with pytest.raises(ModelUnavailable) as err:
        resolve_model(str(partial), setting="asr.model")
    msg = str(err.value)
    assert "\n" not in msg and "asr.model" in msg and "tokenizer.json" in msg and "never downloaded" in msg
    novocab = _folder(tmp_path / "novocab", {k: v for k, v in FILES.items() if k != "vocabulary.json"})
    with pytest.raises(ModelUnavailable, match="vocabulary"):
        resolve_model(str(novocab), setting="asr.model")


def test_the_fill_step_verifies_checksums_and_files_and_never_leaves_a_half_folder(tmp_path):
    src = _folder(tmp_path / "release", FILES)
    volume = tmp_path / "models"
    volume.mkdir()
    assert fill(str(src), str(volume / "whisper-large-v3")) == str(volume / "whisper-large-v3")
    assert sorted(p.name for p in (volume / "whisper-large-v3").iterdir()) == sorted([*FILES, "SHA256SUMS"])
    corrupt = _folder(tmp_path / "corrupt", FILES)
    (corrupt / "model.bin").write_bytes(b"x")
    with pytest.raises(ModelUnavailable, match="checksum of model.bin"):
        fill(str(corrupt), str(volume / "other"))
    assert sorted(p.name for p in volume.iterdir()) == ["whisper-large-v3"]  # no temp folder left
    # the command the Job runs: one line on failure
    out = subprocess.run(
        [sys.executable, "-m", "ccr_pipelines.asr.models", "fill", "--from", str(corrupt), "--to", str(volume / "x")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_library_info_at_model_load_goes_to_the_log_file_not_the_console(tmp_path, monkeypatch, capsys):
    from ccr_pipelines.asr.engine import route_library_logs

    log = tmp_path / "asr.log"
    monkeypatch.setenv("CCR_ASR_LOG_FILE", str(log))
    noisy = logging.getLogger("whisperx")
    noisy.addHandler(logging.StreamHandler(sys.stdout))  # what whisperx installs at import
    route_library_logs()
    # lightning's own stderr handler (installed at its import, inside whisperx.load_model) is gone
    assert logging.getLogger("lightning.pytorch").handlers == []
    logging.getLogger("lightning.pytorch.utilities.migration.utils").info(
        "Lightning automatically upgraded your loaded checkpoint from v1.5.4 to v2.5.5."
    )
    logging.getLogger("whisperx.asr").info("No language specified, language will be first be detected")
    logging.getLogger("whisperx.asr").warning("a warning still shows")
    for h in logging.getLogger("whisperx").handlers + logging.getLogger("lightning").handlers:
        h.flush()
    out = capsys.readouterr()
    assert "automatically upgraded" not in out.out + out.err and "No language specified" not in out.out + out.err
    assert "a warning still shows" in out.err
    text = log.read_text()
    assert "automatically upgraded" in text and "No language specified" in text
    from ccr_pipelines.asr.engine import CHATTY_LOGGERS

    for name in CHATTY_LOGGERS:  # leave the process's logging as it was
        logger = logging.getLogger(name)
        for h in list(logger.handlers):
            logger.removeHandler(h)
            h.close()
        logger.propagate, logger.level = True, logging.NOTSET


def test_the_worker_console_shows_library_warnings_but_not_whispers_short_clip_notice(tmp_path, monkeypatch, capsys):
    """Quiet by default (issue 16): the per-clip 'language detection may be inaccurate' notice goes to
    the worker's log file only; other library warnings still reach stderr."""
    from ccr_pipelines.asr.engine import route_library_logs

    log = tmp_path / "asr-worker.log"
    monkeypatch.setenv("CCR_ASR_LOG_FILE", str(log))
    route_library_logs()  # its console handler binds the stderr of the moment: pytest's capture
    logger = logging.getLogger("whisperx.asr")
    logger.warning("Audio is shorter than 30s, language detection may be inaccurate")
    logger.warning("model file is damaged")
    console = capsys.readouterr().err
    assert "model file is damaged" in console and "language detection" not in console
    assert "language detection may be inaccurate" in log.read_text()
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()


def test_the_worker_transcribes_without_importing_torch_and_starts_in_seconds(tmp_path):
    """Issue 21: the default engine (faster-whisper + Silero's ONNX VAD) never imports torch, whisperx,
    pyannote or Lightning, so a launch pays no torch import and no checkpoint migration."""
    code = (
        "import sys, numpy as np\n"
        "from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many\n"
        "_m, loaded = Engines(AsrConfig(multilingual_model='')).for_language('en')\n"
        "out = transcribe_many(loaded, [('silence', np.zeros(16000 * 3, dtype=np.float32))], language='en',"
        " batch_size=8)\n"
        "assert out == {'silence': []}, out\n"
        "print(sorted(m for m in ('torch', 'whisperx', 'pyannote', 'lightning') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "CCR_MODEL_CACHE": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_an_unknown_vad_setting_fails_with_one_line_naming_it():
    from ccr_pipelines.asr.engine import AsrConfig, Engines

    with pytest.raises(ModelUnavailable) as err:
        Engines(AsrConfig(vad="webrtc", multilingual_model="")).for_language("en")
    assert "asr.vad" in str(err.value) and "\n" not in str(err.value)


def test_the_channels_of_one_call_share_windows_and_two_calls_never_do():
    """Issue 21 packing: both channels of a stereo call are packed into shared 30 s windows (fewer
    encoder passes); two calls never share one, so no word of one call can land in another's
    transcript. The same call twice gives byte-identical segments, each on its own channel."""
    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many
    from ccr_pipelines.loaders.audio_files import decode_channels

    fixture = (
        Path(__file__).resolve().parents[1] / "ccr_pipelines/demo/fixtures/raw/globex-support/2026/11/16/c-2001.flac"
    )
    left, right = decode_channels(str(fixture), sample_rate=16000)
    items = [((call, ch), audio) for call in ("a", "b") for ch, audio in ((0, left), (1, right))]
    _m, loaded = Engines(AsrConfig(multilingual_model="")).for_language("en")
    timings: dict = {}
    out = transcribe_many(loaded, items, language="en", batch_size=8, pack_group=lambda item: item[0], timings=timings)
    assert timings["windows"] == 2  # one per call (28.6 s of stereo, ~24 s of speech), never one for both
    assert out[("a", 0)] == out[("b", 0)] and out[("a", 1)] == out[("b", 1)]
    assert out[("a", 0)] and out[("a", 1)]
    text = {ch: " ".join(s["text"] for s in out[("a", ch)]).lower() for ch in (0, 1)}
    assert "my name is sam" in text[0] and "my name is sam" not in text[1]  # the agent's words on the agent's channel
    assert "internet" in text[1] and "internet" not in text[0]
