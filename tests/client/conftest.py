"""The API as a real HTTP server for the client tests: uvicorn on an ephemeral port, in a
thread with its own event loop, over the session's PostgreSQL, Redis and Temporal, with a
Temporal worker for executions and a scripted OpenAI-compatible LLM and SearXNG peer.

The blocking client (`Torale`) and the CLI call it from the test's thread; accounts are
made in the server's loop, as `torale users create` would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Account
from tests.executions.execution_helpers import FAST, start_worker
from tests.fuzz.live_api import CHAT, LLM_ANSWER
from tests.monitoring.monitoring_peer import Reply, ScriptedServer, chat_json

# What the scripted LLM says: a met condition, usable as a preview and a suggestion too.
ANSWER = {
    **LLM_ANSWER,
    "condition_met": True,
    "answer": "Apple announced September 19.",
    "reasoning": "The newsroom names the date.",
}
PAGES = [
    {"url": "https://www.apple.com/newsroom/iphone", "title": "Apple Newsroom", "content": "Date."}
]


@dataclass
class LiveServer:
    url: str
    peer: ScriptedServer
    settings: Any
    loop: asyncio.AbstractEventLoop
    app: Any
    stopping: asyncio.Event

    def run(self, coroutine: Any, timeout: float = 30.0) -> Any:
        """Run `coroutine` in the server's loop (its database pool lives there)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def account(self, *, admin: bool = False) -> Account:
        from torale.db import unit_of_work
        from torale.users import service

        email = f"client-{uuid.uuid4().hex[:8]}@example.com"

        async def make() -> Account:
            res = self.app.state.resources
            async with unit_of_work(res.session_factory) as session:
                user = await service.ensure_user(session, email, admin=admin)
                created = await service.create_api_key(session, user, "test")
            return Account(user_id=user.id, email=email, key=created.plain_key)

        return self.run(make())

    @property
    def hook_url(self) -> str:
        return f"{self.peer.url}/hook"


def _serve(live: dict[str, Any], sock: socket.socket, ready: threading.Event) -> None:
    import uvicorn
    from temporalio.client import Client

    from torale.app import create_app

    settings = live["settings"]

    async def main() -> None:
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                await serving  # start-up failed: raise its error
            await asyncio.sleep(0.02)
        temporal = await Client.connect(settings.temporal_address)
        async with start_worker(settings, app.state.resources, temporal, FAST):
            stopping = asyncio.Event()
            live.update(loop=asyncio.get_running_loop(), app=app, stopping=stopping)
            ready.set()
            await stopping.wait()
            server.should_exit = True
            await serving

    try:
        asyncio.run(main())
    finally:
        ready.set()


@pytest.fixture(scope="session")
def live_server(settings) -> Iterator[LiveServer]:
    peer = ScriptedServer()
    peer.script("POST", CHAT, chat_json(ANSWER))
    peer.script("GET", "/search", Reply(body={"query": "q", "results": PAGES}))
    peer.script("POST", "/hook", Reply(204))
    live_settings = settings.model_copy(
        update={
            "temporal_task_queue": f"test-client-{uuid.uuid4().hex[:10]}",
            "dramatiq_namespace": f"test-client-{uuid.uuid4().hex[:10]}",
            "allow_private_urls": True,
            "llm_base_url": f"{peer.url}/v1",
            "llm_model": "test-model",
            "llm_api_key": "sk-test",
            "llm_timeout_seconds": 10.0,
            "searxng_url": peer.url,
            "webhook_timeout_seconds": 2.0,
        }
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    state: dict[str, Any] = {"settings": live_settings}
    ready = threading.Event()
    thread = threading.Thread(target=_serve, args=(state, sock, ready), daemon=True)
    thread.start()
    assert ready.wait(60), "the API did not start"
    assert "loop" in state, "the API failed to start (see the log above)"
    live = LiveServer(
        url=f"http://127.0.0.1:{port}",
        peer=peer,
        settings=live_settings,
        loop=state["loop"],
        app=state["app"],
        stopping=state["stopping"],
    )
    try:
        yield live
    finally:
        live.loop.call_soon_threadsafe(live.stopping.set)
        thread.join(30)
        sock.close()
        peer.close()


@pytest.fixture
def account(live_server: LiveServer, database_url: str) -> Account:
    """A fresh user (tables are emptied after each test: `database_url` says so)."""
    return live_server.account()


@pytest.fixture
def admin_account(live_server: LiveServer, database_url: str) -> Account:
    return live_server.account(admin=True)
