"""A real HTTP server on 127.0.0.1 that answers with scripted replies and records requests.

Each test scripts what the peer (LLM, search engine, web page) says, then checks what our
client sent. Replies for a route are served in order; the last one repeats.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.helpers import PeerHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_size: int = 64 * 1024

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: dict[tuple[str, str], list[Reply]] = {}
        self._lock = threading.Lock()
        self._httpd = PeerHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, method: str, path: str, *replies: Reply) -> None:
        with self._lock:
            self._routes[(method, path)] = list(replies)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_reply(self, method: str, path: str) -> Reply:
        with self._lock:
            replies = self._routes.get((method, path))
            if not replies:
                return Reply(404, {"error": {"message": f"unscripted {method} {path}"}})
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    Request(
                        self.command,
                        parts.path,
                        parse_qs(parts.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                reply = server._next_reply(self.command, parts.path)
                if reply.delay:
                    time.sleep(reply.delay)
                payload, content_type = reply.payload()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(reply.status)
                    headers = {"Content-Type": content_type, **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    for start in range(0, len(payload), reply.chunk_size):
                        self.wfile.write(payload[start : start + reply.chunk_size])
                        self.wfile.flush()

            do_GET = do_POST = _serve

        return Handler


def search_hit(url: str, title: str, content: str, **more: Any) -> dict[str, Any]:
    """One result as SearXNG and Tavily list it."""
    return {"url": url, "title": title, "content": content, **more}


def search_reply(*results: dict[str, Any]) -> Reply:
    """A SearXNG (or Tavily) search answer listing `results`."""
    return Reply(body={"query": "q", "results": list(results)})


def chat_reply(content: str | None, **message: Any) -> Reply:
    """An OpenAI chat-completions answer whose message content is `content`."""
    return Reply(
        body={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content, **message},
                }
            ],
        }
    )


def chat_json(data: dict[str, Any]) -> Reply:
    return chat_reply(json.dumps(data))


def gemini_reply(text: str, chunks: list[dict[str, str]] | None = None) -> Reply:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": text}]},
        "finishReason": "STOP",
    }
    if chunks is not None:
        candidate["groundingMetadata"] = {
            "webSearchQueries": ["q"],
            "groundingChunks": [{"web": chunk} for chunk in chunks],
        }
    return Reply(body={"candidates": [candidate]})


def requested_schema(request: Request) -> dict[str, Any] | None:
    """The response schema a chat-completions or generateContent request asked for:
    OpenAI's `response_format.json_schema.schema`, Gemini's
    `generationConfig.responseSchema`; None when it asked for none."""
    body = request.json()
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return response_format["json_schema"]["schema"]
    return (body.get("generationConfig") or {}).get("responseSchema")
