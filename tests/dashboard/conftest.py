"""The dashboard in a real browser: Debian's chromium driven by Playwright.

One stack for the package, all on the session's event loop: the API served by uvicorn on
an ephemeral port (a browser needs a real socket), a Temporal worker, an in-process
Dramatiq worker, a Temporal dev server of its own (so the admin page lists exactly
these tests' schedules), and the local peers: an OpenAI-compatible LLM, SearXNG, and
a webhook receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from tests.executions.conftest import provider_settings
from tests.executions.execution_helpers import start_worker
from tests.helpers import start_private_temporal
from tests.monitoring.monitoring_peer import ScriptedServer
from tests.webhooks.fanout_fixtures import fresh_namespace, own_broker, running_worker
from tests.webhooks.webhook_receiver import Receiver, running_receiver
from torale.app import create_app
from torale.db import unit_of_work
from torale.users import service as users
from torale.webhooks import queue

CHROMIUM = Path(os.environ.get("TORALE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(
    os.environ.get("TORALE_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts")
)


@dataclass
class Live:
    base_url: str
    resources: Any
    settings: Any
    temporal: Any
    llm: ScriptedServer
    searx: ScriptedServer
    receiver: Receiver
    server: uvicorn.Server

    async def settle(self, within: float = 10.0) -> None:
        """Wait for requests still in flight. The app shares the test's event loop, and
        the tables are emptied after each test by a blocking statement: a request left
        holding a row lock then would wait for a loop that waits for it."""
        for _ in range(int(within / 0.02)):
            if not self.server.server_state.tasks:
                return
            await asyncio.sleep(0.02)

    @property
    def app_url(self) -> str:
        return f"{self.base_url}/app/"

    async def account(self, *, admin: bool = False, email: str | None = None) -> tuple[Any, str]:
        """A user and a fresh API key, as `torale users create` makes them."""
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        async with unit_of_work(self.resources.session_factory) as session:
            user = await users.ensure_user(session, email, admin=admin)
            created = await users.create_api_key(session, user, "browser")
        return user, created.plain_key


@pytest.fixture(scope="package")
def peers() -> Iterator[tuple[ScriptedServer, ScriptedServer, Receiver]]:
    llm, searx = ScriptedServer(), ScriptedServer()
    with running_receiver() as receiver:
        yield llm, searx, receiver
    llm.close()
    searx.close()


@pytest.fixture(scope="package")
def broker(service_urls) -> Iterator[Any]:
    """Deliveries go through a Redis namespace of its own."""
    options = queue.BrokerOptions(namespace=fresh_namespace("torale-dash"))
    with own_broker(service_urls.redis_url, options) as built:
        yield built


async def _serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task, int]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(300):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not server.started:
        raise RuntimeError("uvicorn did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


@pytest.fixture(scope="package")
async def live(settings, peers, broker) -> AsyncIterator[Live]:
    llm, searx, receiver = peers
    temporal = await start_private_temporal()
    stack_settings = settings.model_copy(
        update={
            "temporal_address": temporal.client.service_client.config.target_host,
            "temporal_task_queue": f"test-dashboard-{uuid.uuid4().hex[:8]}",
            "allow_private_urls": True,
            "webhook_retry_schedule": "0.2,0.2",
            "webhook_timeout_seconds": 5.0,
            "temporal_ui_url": "http://temporal-ui.test",
            # The API (redeliveries) and the Temporal worker enqueue on the test's broker.
            "dramatiq_namespace": broker.namespace,
            **provider_settings(llm, searx),
        }
    )
    app = create_app(stack_settings)
    server, serving, port = await _serve(app)
    try:
        resources = app.state.resources
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(
                start_worker(stack_settings, resources, temporal.client)
            )
            stack.enter_context(running_worker(broker, stack_settings))
            yield Live(
                base_url=f"http://127.0.0.1:{port}",
                resources=resources,
                settings=stack_settings,
                temporal=temporal.client,
                llm=llm,
                searx=searx,
                receiver=receiver,
                server=server,
            )
    finally:
        server.should_exit = True
        await serving
        await temporal.shutdown()


@pytest.fixture(scope="package")
def chromium() -> Path:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does it), "
        "or point TORALE_CHROMIUM at a Chromium binary"
    )
    return CHROMIUM


@pytest.fixture(scope="package")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser, live: Live) -> AsyncIterator[Page]:
    """A fresh browser context per test; its console errors fail the test."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield opened
    finally:
        await context.close()
        await live.settle()
    assert not errors, f"errors in the page: {errors}"


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"dashboard-{name}.png"
