"""A local stub HTTP server standing in for a provider: it records each request and plays scripted replies."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Recorded:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Scripted:
    """One reply: status, body (JSON, or text sent as it is: XML providers), and an optional delay before
    answering (to cause timeouts)."""

    status: int
    body: Any = None
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass
class Stub:
    """The running stub: requests received, replies still to play, and its base URL."""

    base: str = ""
    requests: list[Recorded] = field(default_factory=list)
    replies: list[Scripted] = field(default_factory=list)
    default: Scripted = field(default_factory=lambda: Scripted(200, {}))

    def reply(self, *scripted: Scripted) -> None:
        """Queue replies, played in order; then the default."""
        self.replies.extend(scripted)


def start() -> tuple[Stub, ThreadingHTTPServer]:
    """Start a stub on a free port."""
    stub = Stub()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET", b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._answer("POST", self.rfile.read(length))

        def _answer(self, method: str, body: bytes) -> None:
            with lock:
                stub.requests.append(Recorded(method, self.path, {k: v for k, v in self.headers.items()}, body))
                scripted = stub.replies.pop(0) if stub.replies else stub.default
            if scripted.delay:
                time.sleep(scripted.delay)
            if isinstance(scripted.body, str | bytes):
                payload = scripted.body.encode() if isinstance(scripted.body, str) else scripted.body
            else:
                payload = json.dumps(scripted.body if scripted.body is not None else {}).encode()
            try:
                self.send_response(scripted.status)
                self.send_header("Content-Type", scripted.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return stub, server


@pytest.fixture
def stub() -> Iterator[Stub]:
    """A provider stub on a free port."""
    running, server = start()
    yield running
    server.shutdown()
    server.server_close()
