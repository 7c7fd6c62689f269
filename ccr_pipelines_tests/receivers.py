"""Local HTTP receivers standing in for the world outside: a PagerDuty Events v2 endpoint and a
Sentry envelope endpoint, on loopback, recording what they are sent (and when)."""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, statuses: list[int] | None = None, default_status: int = 202):
        self.statuses = list(statuses or [])  # answered in order, then default_status
        self.default_status = default_status
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                enc = (self.headers.get("Content-Encoding") or "").lower()
                if enc == "gzip":
                    body = gzip.decompress(body)
                elif enc == "deflate":
                    body = zlib.decompress(body)
                status = outer.statuses.pop(0) if outer.statuses else outer.default_status
                outer.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "status": status,
                        "at": time.time(),
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status":"success"}' if status < 300 else b'{"status":"throttled"}')

            def log_message(self, *args):
                """No per-request line on stderr: the requests are recorded above."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/enqueue"

    @property
    def dsn(self) -> str:
        return f"http://0123456789abcdef0123456789abcdef@127.0.0.1:{self.port}/1"

    def json_bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]
