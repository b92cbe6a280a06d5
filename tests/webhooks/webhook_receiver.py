"""A real HTTP webhook receiver on 127.0.0.1 whose behaviour is chosen by the path."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

from tests.helpers import PeerHTTPServer, serving


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    base_url: str
    port: int
    requests: list[Received] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, headers: dict[str, str] | None = None) -> None:
            payload = b'{"ok": true}'
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            path = self.path
            with receiver.lock:
                receiver.requests.append(Received(path, dict(self.headers.items()), body))
                count = receiver.counters.get(path, 0) + 1
                receiver.counters[path] = count
            if path == "/fail":
                self._reply(500)
            elif path == "/redirect":
                self._reply(301, {"Location": "/ok"})
            elif path == "/gone":
                self._reply(410)
            elif path == "/slow":
                time.sleep(2)
                self._reply(200)
            elif path == "/busy":
                self._reply(503, {"Retry-After": "120"})
            elif path == "/busy-date":
                later = datetime.now(UTC) + timedelta(seconds=90)
                self._reply(429, {"Retry-After": format_datetime(later, usegmt=True)})
            elif path == "/flaky":
                self._reply(500 if count <= 2 else 200)
            else:
                self._reply(200)

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    server = PeerHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    rec = Receiver(base_url=f"http://127.0.0.1:{port}", port=port)
    server.RequestHandlerClass = _handler(rec)
    with serving(server):
        yield rec
