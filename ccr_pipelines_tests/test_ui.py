"""The Dagster UI loads the code location: every asset through GraphQL, and the asset graph
rendered by a real headless Chromium (non-blank screenshot, asset names in the DOM)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ccr_pipelines.definitions import defs

from .browser import CHROMIUM, png_stats, screenshot
from .conftest import require

REPO = Path(__file__).resolve().parents[1]
# a whole demo then the webserver and a browser: more than the default limit
pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str) -> dict:
    req = urllib.request.Request(
        url + "/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def webserver(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "CCR_DATA_DIR": str(tmp_path / "var"), "CCR_ENV": "local"}
    log = open(tmp_path / "webserver.log", "wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-webserver")),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            str(REPO / "workspace.yaml"),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
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
        assert status and status.get("ccr_pipelines") == "LOADED", (
            status,
            (tmp_path / "webserver.log").read_text()[-2000:],
        )
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
    pages = [
        ("/asset-groups", ["ingest", "platform", "transcribe"], "asset-groups.png"),
        ("/locations/ccr_pipelines/asset-groups/ingest", ["call_manifest"], "ingest-group.png"),
    ]
    for path, names, png in pages:
        shot_dir = Path(os.environ.get("CCR_UI_SCREENSHOT_DIR") or tmp_path)
        shot = shot_dir / png
        dom = screenshot(webserver + path, shot, tmp_path / ("profile-" + png), virtual_time_ms=15000)
        colours, ink = png_stats(shot)
        assert colours > 20 and ink > 0.02, (path, colours, ink)
        for name in names:
            assert name in dom, (path, name)
