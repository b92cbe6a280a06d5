"""A webhook receiver that counts what it gets by `webhook-id`, as a deduplicating
receiver would. By path: `/stall-first` stalls the first request of each event (so a
worker can be killed while it waits for the answer), `/fail-first` answers it 500 (so
the worker holds a delayed retry); everything else, and every later request, gets 200."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.helpers import PeerHTTPServer, serving

# A stalled request is answered 503 (never a success) when released, at the latest then.
STALL_LIMIT_SECONDS = 60.0


@dataclass
class EventLog:
    requests: int = 0
    successes: int = 0
    # Requests that arrived after this event had been answered with a success.
    after_success: int = 0


@dataclass
class CountingReceiver:
    port: int
    events: dict[str, EventLog] = field(default_factory=dict)
    stalled: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _arrived(self, event_id: str) -> tuple[EventLog, int]:
        with self.lock:
            log = self.events.setdefault(event_id, EventLog())
            log.requests += 1
            if log.successes:
                log.after_success += 1
            return log, log.requests

    def _succeeded(self, log: EventLog) -> None:
        with self.lock:
            log.successes += 1

    @property
    def total_requests(self) -> int:
        with self.lock:
            return sum(e.requests for e in self.events.values())

    @property
    def duplicated(self) -> int:
        """Requests for an event already answered with a success (should be none)."""
        with self.lock:
            return sum(e.after_success for e in self.events.values())

    def succeeded_ids(self) -> set[str]:
        with self.lock:
            return {i for i, e in self.events.items() if e.successes}


def _handler(receiver: CountingReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            log, number = receiver._arrived(self.headers.get("webhook-id", ""))
            # Stalls only until released: after that every event is answered at once.
            if self.path == "/stall-first" and number == 1 and not receiver.release.is_set():
                with receiver.lock:
                    receiver.stalled += 1
                receiver.release.wait(STALL_LIMIT_SECONDS)
                self._reply(503)
                return
            if self.path == "/fail-first" and number == 1:
                self._reply(500)
                return
            self._reply(200)
            receiver._succeeded(log)

    return Handler


@contextmanager
def counting_receiver() -> Iterator[CountingReceiver]:
    server = PeerHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = CountingReceiver(port=server.server_address[1])
    server.RequestHandlerClass = _handler(receiver)
    with serving(server):
        try:
            yield receiver
        finally:
            # Stalled requests are answered before the server waits for their threads.
            receiver.release.set()
