"""Fair admission (torale.http.admission, `TORALE_MAX_CONCURRENT_REQUESTS`).

The gate's rules are driven over ASGI around a small downstream app that records who is
inside; the same rules are then shown on the real API, whose requests are held inside
by a PostgreSQL lock, served in process and by uvicorn (a client that really hangs up).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from pydantic import ValidationError

from tests.helpers import asgi_client, eventually, running_app, task_body
from torale.config import Settings
from torale.http.admission import AdmissionMiddleware, FairGate
from torale.http.body_size import MaxBodySizeMiddleware

# --- the gate's rules, around a downstream app that records who is inside


class Inside:
    """The app behind the gate: counts who is inside and holds each request until its
    path is let go (`/boom` raises once let go)."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.entered: list[str] = []
        self.bodies: dict[str, bytes] = {}
        self.go: dict[str, asyncio.Event] = {}

    def hold(self, path: str) -> None:
        self.go[path] = asyncio.Event()

    def let_go(self, path: str) -> None:
        self.go[path].set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        self.now += 1
        self.most = max(self.most, self.now)
        self.entered.append(path)
        try:
            if path in self.go:
                await self.go[path].wait()
            else:
                await asyncio.sleep(0)
            if path == "/boom":
                raise RuntimeError("boom")
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self.bodies[path] = body
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.now -= 1


class Client:
    """One ASGI request: its messages are fed by the test (`hang_up` sends the disconnect)."""

    def __init__(
        self, gated: AdmissionMiddleware, path: str, *chunks: bytes, root_path: str = ""
    ) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for index, chunk in enumerate(chunks or (b"",)):
            more = index < len(chunks) - 1
            self.incoming.put_nowait({"type": "http.request", "body": chunk, "more_body": more})
        self.sent: list[dict[str, Any]] = []
        scope = {"type": "http", "method": "POST", "path": path, "root_path": root_path}
        self.task = asyncio.ensure_future(gated(scope, self.incoming.get, self._send))

    async def _send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def hang_up(self) -> None:
        self.incoming.put_nowait({"type": "http.disconnect"})

    @property
    def status(self) -> int | None:
        return self.sent[0]["status"] if self.sent else None


async def settle() -> None:
    """Let every ready task run until all wait for something outside."""
    for _ in range(20):
        await asyncio.sleep(0)


def gate(app: Inside, limit: int, lease_seconds: float = 60.0) -> AdmissionMiddleware:
    return AdmissionMiddleware(app, limit=limit, lease_seconds=lease_seconds)


async def occupied(
    first: str = "/inside", lease_seconds: float = 60.0
) -> tuple[Inside, AdmissionMiddleware, Client]:
    """A gate of one slot, taken by a request to `first` held inside until let go."""
    app = Inside()
    gated = gate(app, 1, lease_seconds)
    app.hold(first)
    holder = Client(gated, first)
    await settle()
    return app, gated, holder


async def test_never_more_than_the_limit_inside():
    app = Inside()
    gated = gate(app, 3)
    clients = [Client(gated, f"/r{i}") for i in range(30)]
    await asyncio.gather(*(client.task for client in clients))
    assert app.most == 3
    assert [client.status for client in clients] == [200] * 30
    assert gated.gate.free == 3 and gated.gate.waiting == 0


async def test_waiting_requests_enter_in_arrival_order():
    app, gated, first = await occupied("/first")
    waiting = []
    for i in range(8):
        waiting.append(Client(gated, f"/w{i}"))
        await settle()
    app.let_go("/first")
    # A newcomer arriving as the slot frees does not slip ahead of those waiting.
    late = Client(gated, "/late")
    await asyncio.gather(first.task, late.task, *(client.task for client in waiting))
    assert app.entered == ["/first", *(f"/w{i}" for i in range(8)), "/late"]


async def test_a_request_that_raises_gives_its_slot_back():
    app, gated, failing = await occupied("/boom")
    after = Client(gated, "/after")
    await settle()
    assert app.entered == ["/boom"]
    app.let_go("/boom")
    with pytest.raises(RuntimeError):
        await failing.task
    await after.task
    assert after.status == 200 and gated.gate.free == 1


async def test_cancelled_requests_give_their_slots_back():
    app, gated, inside = await occupied()
    queued = Client(gated, "/queued")
    last = Client(gated, "/last")
    await settle()
    queued.task.cancel()  # while waiting its turn
    await settle()
    inside.task.cancel()  # while inside
    await last.task
    assert app.entered == ["/inside", "/last"]
    assert queued.task.cancelled() and inside.task.cancelled()
    assert gated.gate.free == 1 and gated.gate.waiting == 0


async def test_a_client_gone_while_waiting_is_never_served():
    app, gated, inside = await occupied()
    gone = Client(gated, "/gone", b'{"a": 1}')
    stays = Client(gated, "/stays")
    await settle()
    gone.hang_up()
    await gone.task
    assert not stays.task.done() and gated.gate.waiting == 1
    app.let_go("/inside")
    await asyncio.gather(inside.task, stays.task)
    assert app.entered == ["/inside", "/stays"] and gone.sent == []
    assert gated.gate.free == 1


async def test_the_body_that_arrived_while_waiting_reaches_the_app():
    app, gated, inside = await occupied()
    upload = Client(gated, "/upload", b"one,", b"two,", b"three")
    await settle()
    app.let_go("/inside")
    await asyncio.gather(inside.task, upload.task)
    assert app.bodies["/upload"] == b"one,two,three"


async def test_a_body_read_by_the_size_limit_waits_with_one_task_only():
    """MaxBodySizeMiddleware, outside, has read the whole body: a queued request takes its
    messages at once, and needs a task for one thing, hearing the client hang up."""
    app, gated, inside = await occupied()
    limited = MaxBodySizeMiddleware(gated, max_bytes=1000)
    loop = asyncio.get_running_loop()
    made: list[Any] = []

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        upload = Client(limited, "/upload", b"one,", b"two,", b"three")
        gone = Client(limited, "/gone", b"{}")
        await settle()
        assert len(made) == 4  # each request's own, and one listening for each
        gone.hang_up()
        await gone.task
        app.let_go("/inside")
        await asyncio.gather(inside.task, upload.task)
    finally:
        loop.set_task_factory(None)
    assert app.bodies["/upload"] == b"one,two,three" and "/gone" not in app.entered
    assert gone.sent == [] and gated.gate.free == 1 and gated.gate.waiting == 0


async def test_a_slow_request_lends_its_slot_after_the_lease():
    app, gated, slow = await occupied("/slow", lease_seconds=0.05)
    fast = Client(gated, "/fast")
    await asyncio.wait_for(fast.task, 5)
    assert app.entered == ["/slow", "/fast"] and app.now == 1
    app.let_go("/slow")
    await slow.task
    # The slow request's own release after its lease ran out is not counted twice.
    assert gated.gate.free == 1 and gated.gate.inside == 0


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/redoc",
        "/assets/api-docs/swagger-ui.css",
        "/app/index.html",
        "/api/v1/tasks/preview",
        "/api/v1/tasks/suggest",
        "/api/v1/webhooks/test",
    ],
)
async def test_probes_documents_and_slow_routes_pass_a_full_gate(path):
    app, gated, inside = await occupied()
    queued = Client(gated, "/queued")
    passing = Client(gated, path)
    await asyncio.wait_for(passing.task, 5)
    assert passing.status == 200 and app.entered == ["/inside", path]
    app.let_go("/inside")
    await asyncio.gather(inside.task, queued.task)


async def test_a_probe_behind_a_path_prefix_passes_too():
    app, gated, inside = await occupied()
    probe = Client(gated, "/torale/health", root_path="/torale")
    await asyncio.wait_for(probe.task, 5)
    assert probe.status == 200
    app.let_go("/inside")
    await inside.task


def test_a_gate_needs_a_slot():
    with pytest.raises(ValueError):
        FairGate(0)


# --- the setting


def test_the_setting_defaults_to_8_and_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("TORALE_MAX_CONCURRENT_REQUESTS", raising=False)
    assert Settings().max_concurrent_requests == 8
    monkeypatch.setenv("TORALE_MAX_CONCURRENT_REQUESTS", "0")
    assert Settings().max_concurrent_requests == 0


@pytest.mark.parametrize("value", ["-1", "10001", "many"])
def test_the_setting_refuses_nonsense(monkeypatch, value):
    monkeypatch.setenv("TORALE_MAX_CONCURRENT_REQUESTS", value)
    with pytest.raises(ValidationError, match="max_concurrent_requests"):
        Settings()


def test_the_api_installs_the_gate_unless_turned_off():
    from torale.app import create_app

    def gates(limit: int) -> list[Any]:
        app = create_app(Settings(max_concurrent_requests=limit))
        return [m.kwargs["limit"] for m in app.user_middleware if m.cls is AdmissionMiddleware]

    assert gates(0) == []
    assert gates(4) == [4]


# --- the real API: a task list held inside by a lock on the tasks table


@contextlib.asynccontextmanager
async def tasks_locked(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """While open, any query on `tasks` waits (ACCESS EXCLUSIVE lock in a transaction)."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
            yield conn
    finally:
        await conn.close()


async def waiting_on_the_lock(conn: asyncpg.Connection) -> int:
    # Inside a transaction, pg_stat_activity is a snapshot taken once unless cleared.
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database() AND query ILIKE '%tasks%'"
    )


async def list_held_inside(
    http: httpx.AsyncClient, lock: asyncpg.Connection, headers: dict[str, str]
) -> asyncio.Future[httpx.Response]:
    """A task list request, sent and seen waiting on the lock (so: inside the app)."""
    sent = asyncio.ensure_future(http.get("/api/v1/tasks", headers=headers))
    assert await eventually(lambda: waiting_on_the_lock(lock), lambda n: n == 1) == 1
    return sent


async def test_the_real_api_admits_one_at_a_time_and_probes_pass(settings, make_account):
    async with running_app(settings) as app:
        gated = AdmissionMiddleware(app, limit=1, lease_seconds=60)
        account = await make_account()
        async with asgi_client(gated) as http:
            assert (await http.get("/api/v1/tasks", headers=account.headers)).status_code == 200
            async with tasks_locked(settings.database_url) as lock:
                first = await list_held_inside(http, lock, account.headers)
                second = asyncio.ensure_future(http.get("/api/v1/tasks", headers=account.headers))
                assert await eventually(lambda: _queued(gated), lambda n: n == 1) == 1
                assert (await http.get("/health")).status_code == 200
                assert (await http.get("/ready")).status_code == 200
                # The second never reached the database: it waits at the gate.
                assert await waiting_on_the_lock(lock) == 1 and not second.done()
            assert [r.status_code for r in await asyncio.gather(first, second)] == [200, 200]
        assert gated.gate.free == 1


async def _queued(gated: AdmissionMiddleware) -> int:
    return gated.gate.waiting


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_create_whose_client_hung_up_while_waiting_never_runs(settings, make_account):
    """uvicorn does not cancel a request whose client left; the gate notices it waiting."""
    async with running_app(settings) as app:
        gated = AdmissionMiddleware(app, limit=1, lease_seconds=60)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                gated,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
                # The gate's __call__ returns an awaitable without being `async def`.
                interface="asgi3",
            )
        )
        serving = asyncio.ensure_future(server.serve())
        try:
            assert await eventually(lambda: _started(server), bool)
            account = await make_account()
            name = f"never-{uuid.uuid4().hex[:8]}"
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                async with tasks_locked(settings.database_url) as lock:
                    first = await list_held_inside(http, lock, account.headers)
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(_create_request(port, account.headers, task_body(name=name)))
                    assert await eventually(lambda: _queued(gated), lambda n: n == 1) == 1
                    writer.close()  # hangs up unanswered, while waiting its turn
                    assert await eventually(lambda: _queued(gated), lambda n: n == 0) == 0
                assert (await first).status_code == 200
                listed = await http.get("/api/v1/tasks?limit=100", headers=account.headers)
            assert name not in [task["name"] for task in listed.json()["items"]]
            assert gated.gate.free == 1
        finally:
            server.should_exit = True
            await serving


async def _started(server: uvicorn.Server) -> bool:
    return server.started


def _create_request(port: int, headers: dict[str, str], body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = [
        "POST /api/v1/tasks HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload
