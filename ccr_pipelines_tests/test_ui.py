"""The Dagster UI loads the code location: every asset through GraphQL, and the asset graph
rendered by a real headless Chromium (non-blank screenshot, asset names in the DOM)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import pytest

from ccr_pipelines.definitions import defs

from .conftest import require

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str) -> dict:
    req = urllib.request.Request(url + "/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _png_stats(path: Path) -> tuple[int, float]:
    """(distinct colours, share of non-white pixels) of an 8-bit RGB/RGBA PNG, without PIL."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif ctype == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours, nonwhite, total = set(), 0, 0
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:  # sample every 4th row
            for x in range(0, width, 4):
                px = bytes(line[x * bpp:x * bpp + 3])
                colours.add(px)
                total += 1
                nonwhite += px != b"\xff\xff\xff"
        prev = line
    return len(colours), nonwhite / max(total, 1)


@pytest.fixture
def webserver(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "CCR_DATA_DIR": str(tmp_path / "var"), "CCR_ENV": "local"}
    log = open(tmp_path / "webserver.log", "wb")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1", "-p", str(port),
                             "-w", str(REPO / "workspace.yaml")], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            try:
                r = _graphql(url, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
                entries = r["data"]["workspaceOrError"]["locationEntries"]
                status = {e["name"]: e["loadStatus"] for e in entries}
                if status.get("ccr_pipelines") == "LOADED":
                    break
            except OSError:
                pass
            time.sleep(1)
        assert status and status.get("ccr_pipelines") == "LOADED", (status, (tmp_path / "webserver.log").read_text()[-2000:])
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_ui_lists_every_asset_and_renders_the_asset_graph(webserver, tmp_path):
    r = _graphql(webserver, "{ assetNodes { assetKey { path } groupName } }")
    listed = {"/".join(n["assetKey"]["path"]) for n in r["data"]["assetNodes"]}
    expected = {k.to_user_string() for k in defs().resolve_asset_graph().get_all_asset_keys()}
    assert listed == expected

    require(CHROMIUM is not None, "Debian chromium is not installed (apt-get install chromium)")
    pages = [("/asset-groups", ["ingest", "platform", "transcribe"], "asset-groups.png"),
             ("/locations/ccr_pipelines/asset-groups/ingest", ["call_manifest"], "ingest-group.png")]
    for path, names, png in pages:
        shot_dir = Path(os.environ.get("CCR_UI_SCREENSHOT_DIR") or tmp_path)
        shot = shot_dir / png
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / ('profile-' + png)}", "--window-size=1400,900",
             "--virtual-time-budget=15000", "--dump-dom", f"--screenshot={shot}", webserver + path],
            capture_output=True, text=True, timeout=120)
        assert shot.exists(), out.stderr[-2000:]
        colours, ink = _png_stats(shot)
        assert colours > 20 and ink > 0.02, (path, colours, ink)
        for name in names:
            assert name in out.stdout, (path, name)
