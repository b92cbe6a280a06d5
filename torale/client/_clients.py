"""`Torale` (blocking) and `AsyncTorale` (asyncio): the same resources on two transports."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from torale.client._base import BaseClient, Call, PageCall, Retry
from torale.client.resources import Admin, ApiKeys, Executions, Notifications, Tasks, Users
from torale.client.resources import Webhooks as WebhooksResource


class _Resources:
    def _mount(self) -> None:
        self.tasks = Tasks(self)
        self.executions = Executions(self)
        self.notifications = Notifications(self)
        self.api_keys = ApiKeys(self)
        self.webhooks = WebhooksResource(self)
        self.admin = Admin(self)
        self.users = Users(self)

    def me(self) -> Any:
        """The user the API key belongs to."""
        return self.users.me()


class Torale(_Resources, BaseClient):
    """Blocking client. Use it as a context manager, or call `close()`.

    >>> with Torale() as client:  # key and URL from the environment or `torale login`
    ...     task = client.tasks.create(search_query=..., condition_description=..., schedule=...)
    """

    def _open_http(self) -> httpx.Client:
        return httpx.Client(**self._client_options())

    def _send(self, call: Call) -> Any:
        for attempt in itertools.count():
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = self._http.request(call.method, call.path, **self._request_options(call))
            except httpx.TransportError as exc:
                outcome = exc
            verdict = self._verdict(call, attempt, outcome)
            if not isinstance(verdict, Retry):
                return verdict
            time.sleep(verdict.delay)

    def _iterate(self, page_call: PageCall) -> Iterator[Any]:
        page = 1
        while True:
            result = self._send(page_call(page))
            yield from result.items
            if not result.items or page * result.limit >= result.total:
                return
            page += 1

    def _poll(self, fetch: Any, within: float, interval: float, on_poll: Any) -> Any:
        deadline = time.monotonic() + within
        while True:
            value = fetch()
            if self._poll_settled(value, on_poll, deadline, within):
                return value
            time.sleep(interval)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Torale:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncTorale(_Resources, BaseClient):
    """asyncio client: every resource method returns an awaitable; `iter` an async iterator.

    >>> async with AsyncTorale() as client:
    ...     async for task in client.tasks.iter(state="active"):
    ...         print(task.name)
    """

    def _open_http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._client_options())

    async def _send(self, call: Call) -> Any:
        for attempt in itertools.count():
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = await self._http.request(
                    call.method, call.path, **self._request_options(call)
                )
            except httpx.TransportError as exc:
                outcome = exc
            verdict = self._verdict(call, attempt, outcome)
            if not isinstance(verdict, Retry):
                return verdict
            await asyncio.sleep(verdict.delay)

    async def _iterate(self, page_call: PageCall) -> AsyncIterator[Any]:
        page = 1
        while True:
            result = await self._send(page_call(page))
            for item in result.items:
                yield item
            if not result.items or page * result.limit >= result.total:
                return
            page += 1

    async def _poll(self, fetch: Any, within: float, interval: float, on_poll: Any) -> Any:
        deadline = time.monotonic() + within
        while True:
            value = await fetch()
            if self._poll_settled(value, on_poll, deadline, within):
                return value
            await asyncio.sleep(interval)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncTorale:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
