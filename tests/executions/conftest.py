"""A whole execution stack per test: the API and a real Temporal worker on their own
task queue, with an OpenAI-compatible LLM and a SearXNG instance played by local
HTTP servers speaking their wire protocols."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.executions.execution_helpers import CHAT, FAST, Stack, script_search, start_worker
from tests.helpers import asgi_client, running_app
from tests.monitoring.monitoring_peer import ScriptedServer
from torale.webhooks.fanout import Enqueue
from workers.execution_steps import ExecutionTuning


@pytest.fixture
def llm() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture
def searx() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


def provider_settings(llm: ScriptedServer, searx: ScriptedServer) -> dict[str, Any]:
    return {
        "llm_base_url": f"{llm.url}/v1",
        "llm_model": "test-model",
        "llm_api_key": "sk-test",
        "llm_timeout_seconds": 10.0,
        "searxng_url": searx.url,
    }


@pytest.fixture
def make_stack(settings, temporal_client, llm, searx) -> Callable[..., Any]:
    """`async with make_stack(**settings_overrides) as stack:` — API + worker, own queue."""

    @contextlib.asynccontextmanager
    async def build(
        *,
        providers: bool = True,
        worker: bool = True,
        tuning: ExecutionTuning = FAST,
        deliveries: Enqueue | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Stack]:
        queue = f"test-executions-{uuid.uuid4().hex[:10]}"
        update: dict[str, Any] = {"temporal_task_queue": queue, "allow_private_urls": True}
        if providers:
            update |= provider_settings(llm, searx)
        update |= overrides
        stack_settings = settings.model_copy(update=update)
        async with running_app(stack_settings) as app:
            resources = app.state.resources
            async with contextlib.AsyncExitStack() as running:
                if worker:
                    await running.enter_async_context(
                        start_worker(stack_settings, resources, temporal_client, tuning, deliveries)
                    )
                http = await running.enter_async_context(asgi_client(app))
                stack = Stack(
                    http=http,
                    resources=resources,
                    settings=stack_settings,
                    temporal=temporal_client,
                )
                try:
                    yield stack
                finally:
                    await stack.cleanup()

    return build


@pytest.fixture
def started_task(make_stack, make_account, llm, searx) -> Callable[..., Any]:
    """`async with started_task(*llm_replies, **task_fields) as (stack, account, task):`
    search results and the LLM's replies scripted, an account, and its new task."""

    @contextlib.asynccontextmanager
    async def start(*replies: Any, **fields: Any) -> AsyncIterator[tuple[Stack, Any, Any]]:
        script_search(searx)
        llm.script("POST", CHAT, *replies)
        account = await make_account()
        async with make_stack() as stack:
            yield stack, account, await stack.create_task(account.headers, **fields)

    return start
