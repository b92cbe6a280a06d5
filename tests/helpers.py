"""Plain helpers shared by test modules (fixtures live in conftest files)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import ThreadingHTTPServer
from typing import Any, TypeVar

from temporalio.testing import WorkflowEnvironment

from torale.devstack.binaries import temporal_binary

T = TypeVar("T")


def task_body(**overrides):
    """A valid task creation body, with fields replaced as given."""
    body = {
        "search_query": "When is the next iPhone being released?",
        "condition_description": "Apple has announced a specific release date",
        "schedule": "0 9 * * *",
    }
    body.update(overrides)
    return body


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], within: float = 10.0
) -> T:
    """Poll `probe` until `check` passes (Temporal's visibility lags writes a little)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if check(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def start_private_temporal() -> WorkflowEnvironment:
    """A dev server of the test's own, for tests that stop it or list every schedule."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), dev_server_log_level="error"
    )


@asynccontextmanager
async def statements_seen(engine: Any) -> AsyncIterator[list[str]]:
    """Every SQL statement the engine sends through SQLAlchemy while the block runs."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def pooled_backend_pid(engine: Any) -> int:
    """The server process of a connection from `engine`'s pool (with a pool of one,
    the connection every statement uses)."""
    from sqlalchemy import text

    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate_backend(settings: Any, pid: int) -> None:
    """What a PostgreSQL restart does to a session (57P01), from a connection of its own."""
    from sqlalchemy import text

    from torale.db import create_engine

    admin = create_engine(settings)
    try:
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


@asynccontextmanager
async def running_app(settings: Any, **overrides: Any) -> AsyncIterator[Any]:
    """The API on `settings` with `overrides` applied, started (its lifespan) for the block."""
    from torale.app import create_app

    app = create_app(settings.model_copy(update=overrides) if overrides else settings)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def asgi_client(app: Any, **transport: Any) -> AsyncIterator[Any]:
    """An httpx client calling `app` in process; `transport` goes to `ASGITransport`."""
    import httpx

    asgi = httpx.ASGITransport(app=app, **transport)
    async with httpx.AsyncClient(transport=asgi, base_url="http://test") as http:
        yield http


@asynccontextmanager
async def app_client(settings: Any, **overrides: Any) -> AsyncIterator[tuple[Any, Any]]:
    """(app, client): `running_app` and an `asgi_client` of it."""
    async with running_app(settings, **overrides) as app, asgi_client(app) as http:
        yield app, http


@asynccontextmanager
async def api_on_own_temporal(
    settings: Any, temporal: WorkflowEnvironment, make_account: Any
) -> AsyncIterator[tuple[Any, Any, dict[str, Any]]]:
    """(client, account, task): an in-process API on `temporal` (a server the test may
    stop), an account, and one task created while that server is up."""
    address = temporal.client.service_client.config.target_host
    async with app_client(settings, temporal_address=address) as (_, http):
        account = await make_account()
        created = await http.post("/api/v1/tasks", json=task_body(), headers=account.headers)
        assert created.status_code == 201, created.text
        yield http, account, created.json()


class PeerHTTPServer(ThreadingHTTPServer):
    """The threaded HTTP server behind the tests' stand-in peers (LLM, search, webhooks).

    Clients in the tests hang up on purpose (timeouts, refused redirects); a peer whose
    client went away has nothing to report, so those are not printed as errors.
    """

    daemon_threads = True
    request_queue_size = 64  # the default 5 drops concurrent connects (1 s SYN retry)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


@contextmanager
def serving(server: PeerHTTPServer) -> Iterator[PeerHTTPServer]:
    """Serve `server` on a thread for the block, then shut it down and close its socket."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def stops_on_sigterm(process: Any, within: float) -> None:
    """SIGTERM `process` (a Popen): it exits 0 within `within` seconds and no process it
    had started outlives it."""
    import signal

    import psutil

    family = psutil.Process(process.pid).children(recursive=True)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - sent < within
    _gone, alive = psutil.wait_procs(family, timeout=5)
    assert alive == []


@asynccontextmanager
async def silent_redis() -> AsyncIterator[str]:
    """The URL of a server that accepts connections and never answers: a Redis that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def hang(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    try:
        yield f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"
    finally:
        for writer in held:
            writer.close()
        server.close()
