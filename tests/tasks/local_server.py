"""A tiny HTTP server on 127.0.0.1 in a thread, recording what it receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    url: str
    received: list[Received] = field(default_factory=list)


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
            status, headers, payload = _route(self.path, body)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    return Handler


def _route(path: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    if path.startswith("/json"):
        return (
            200,
            [("Content-Type", "application/json"), ("X-Multi", "a"), ("X-Multi", "b")],
            b'{"ok": true}',
        )
    if path.startswith("/echo"):
        return 200, [("Content-Type", "application/octet-stream")], body
    if path.startswith("/missing"):
        return 404, [], b"not here"
    if path.startswith("/empty"):
        return 200, [], b""
    if path.startswith("/file"):
        return 200, [("Content-Disposition", 'attachment; filename="../report.csv"')], b"a,b\n" * 1000
    if path.startswith("/redirect"):
        return 302, [("Location", "/json")], b""
    if path.startswith("/slack"):
        text = json.loads(body or b"{}")
        if "fail" in json.dumps(text):
            return 400, [], b"invalid_payload"
        return 200, [], b"ok"
    return 500, [], b"?"


@contextmanager
def local_server() -> Iterator[LocalServer]:
    """Serve on a free port of 127.0.0.1 until the block ends."""
    state = LocalServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
