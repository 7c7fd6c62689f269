"""Fault injection for the resilience tests: real faults in front of real components.

- ``FaultyProxy``: a stdlib HTTP proxy between boto3 and the moto S3 server that answers
  500 / 503, or holds the answer past the client's read timeout, on a seeded fraction of
  requests — before forwarding (the request never reached S3) or after (it did, and the
  answer is lost), which is the case that could double a write.
- ``PrivatePostgres``: a throwaway PostgreSQL 15 cluster in a temp dir, ours to stop and
  restart (the machine's shared server is never touched).
- ``small_tmpfs``: a tiny tmpfs to fill up (ENOSPC for real).
- ``record_figures``: the figures a test observed, for docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .conftest import require

FIGURES_ENV = "CCR_RELIABILITY_FIGURES"


def record_figures(name: str, **figures) -> None:
    """Append what a test observed to the JSON file named by $CCR_RELIABILITY_FIGURES (if set)."""
    target = os.environ.get(FIGURES_ENV)
    if not target:
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc[name] = figures
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


# --- S3 faults ----------------------------------------------------------------------------
_ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
    "<Message>injected fault</Message><RequestId>fault</RequestId></Error>"
)


class FaultyProxy:
    """Forwards HTTP to *upstream*; a seeded fraction of requests gets a fault.

    Faults (chosen per request): ``500_before`` / ``503_before`` (not forwarded),
    ``500_after`` (forwarded, the answer replaced by a 500), ``timeout_after``
    (forwarded, the answer held for *delay_s*, past the client's read timeout) and, asked for
    by name only, ``empty_after`` (a GET forwarded, its body dropped but its headers kept: the
    object's checksum no longer matches what arrives). *max_faults*: stop injecting after that many.
    ``faults`` counts what was injected, ``forwarded`` counts requests S3 saw, by method.
    """

    KINDS = ("500_before", "503_before", "500_after", "timeout_after")

    def __init__(
        self, upstream: str, *, rate: float, seed: int, delay_s: float = 1.5, kinds=KINDS, max_faults: int | None = None
    ):
        self.upstream = urlsplit(upstream)
        self.rate, self.delay_s, self.kinds, self.max_faults = rate, delay_s, tuple(kinds), max_faults
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.faults: Counter = Counter()
        self.forwarded: Counter = Counter()
        self.enabled = True
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _any(self):
                body = self._read_body()
                with proxy.lock:
                    spent = proxy.max_faults is not None and sum(proxy.faults.values()) >= proxy.max_faults
                    fault = (
                        proxy.rng.choice(proxy.kinds)
                        if proxy.enabled and not spent and proxy.rng.random() < proxy.rate
                        else None
                    )
                    if fault == "empty_after" and self.command != "GET":
                        fault = None
                    if fault:
                        proxy.faults[fault] += 1
                if fault in ("500_before", "503_before"):
                    return self._error(int(fault[:3]))
                status, headers, data = proxy._forward(self.command, self.path, self.headers, body)
                with proxy.lock:
                    proxy.forwarded[self.command] += 1
                if fault == "500_after":
                    return self._error(500)
                if fault == "timeout_after":
                    time.sleep(proxy.delay_s)
                if fault == "empty_after":
                    data = b""
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(k, v)
                if self.command == "HEAD":  # no body: the upstream's length describes the object
                    self.send_header(
                        "Content-Length", dict((k.lower(), v) for k, v in headers).get("content-length", "0")
                    )
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _error(self, status: int):
                data = _ERROR_XML.format(code="InternalError" if status == 500 else "SlowDown").encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def handle_one_request(self):
                with contextlib.suppress(ConnectionError, socket.timeout, OSError):
                    super().handle_one_request()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            fwd = {k: v for k, v in headers.items() if k.lower() not in ("transfer-encoding", "connection", "expect")}
            fwd["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=fwd)
            r = conn.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            conn.close()

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# --- a private PostgreSQL cluster ---------------------------------------------------------
PG_BIN = Path(os.environ.get("CCR_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """initdb + pg_ctl in a temp dir, as the ``postgres`` user when we are root."""

    def __init__(self):
        require((PG_BIN / "initdb").exists(), f"PostgreSQL server binaries not found in {PG_BIN} (set CCR_TEST_PG_BIN)")
        self.dir = Path(tempfile.mkdtemp(prefix="ccr-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        subprocess.run(
            [*self.prefix, *cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120
        )

    def _ctl(self, action: str, *extra: str) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.dir / "log"),
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            *extra,
            action,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


# --- a disk that fills up -----------------------------------------------------------------
@contextlib.contextmanager
def small_tmpfs(size_kb: int):
    """A tmpfs of *size_kb* (root can mount one; elsewhere: skipped locally, failed in CI)."""
    mount = Path(tempfile.mkdtemp(prefix="ccr-full-", dir="/tmp"))
    ok = (
        shutil.which("mount") is not None
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ).returncode
        == 0
    )
    if not ok:
        mount.rmdir()
    require(ok, "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN) for the disk-full test")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        with contextlib.suppress(OSError):
            mount.rmdir()


def fill(directory: Path) -> int:
    """Write a filler file until the filesystem is full; returns the bytes written."""
    written = 0
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            written += os.write(fd, b"\0" * 4096)
    except OSError:
        return written
    finally:
        os.close(fd)
