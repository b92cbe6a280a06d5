"""Fair admission: at most N requests inside the app at once, the rest wait in arrival
order (`TORALE_MAX_CONCURRENT_REQUESTS`).

One event loop serves every request of the process, so each request's await points
(Redis, pool checkout, SQL, sending the answer) interleave with those of every other
request in flight, and it queues behind them at each. A gate keeps the number in flight
small and lets the waiting ones in first come, first served.

What the gate leaves alone:

- probes, metrics, the API documents and static files (`BYPASS_PATHS`,
  `BYPASS_PREFIXES`): a probe must never queue behind the load it is meant to report;
- the REST routes that wait seconds on an outside service (an LLM, a webhook peer;
  `SLOW_PATHS`): they would hold a slot while using no CPU;
- a request still inside after `lease_seconds` (the same operations sent through
  `/graphql`, or anything stuck on a slow dependency): its slot goes to the next in
  line, so a slow request delays the fast ones by at most the lease.

A queued request whose client hangs up leaves the queue without running.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from torale.http.asgi import HttpMiddleware, replaying
from torale.http.body_size import BODY_IN_HAND

if TYPE_CHECKING:
    from fastapi import FastAPI

    from torale.config import Settings

BYPASS_PATHS = frozenset(
    {"/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)
BYPASS_PREFIXES = ("/assets/", "/app/")
# Each calls an LLM / search provider or a user's webhook, for seconds.
SLOW_PATHS = frozenset({"/api/v1/tasks/preview", "/api/v1/tasks/suggest", "/api/v1/webhooks/test"})

# Far above what a request spends inside under load (the gate's point is to keep that
# short), far below what the outside services of SLOW_PATHS take.
DEFAULT_LEASE_SECONDS = 1.0


def bypasses(path: str) -> bool:
    return path in BYPASS_PATHS or path in SLOW_PATHS or path.startswith(BYPASS_PREFIXES)


class FairGate:
    """Counting slots handed over first come, first served.

    A slot freed while others wait goes straight to the oldest waiter (its future is
    resolved), so a newcomer can never slip ahead of the queue. Written out rather than
    an asyncio.Semaphore so a waiter is a plain future: waiting for it and for the
    client's disconnect together needs no task for the slot.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("an admission gate needs at least one slot")
        self.limit = limit
        self.free = limit
        self.waiters: deque[asyncio.Future[None]] = deque()

    @property
    def inside(self) -> int:
        return self.limit - self.free

    @property
    def waiting(self) -> int:
        return sum(not waiter.done() for waiter in self.waiters)

    def try_enter(self) -> bool:
        # A free slot means nobody waits: `leave` hands slots to waiters first.
        if self.free:
            self.free -= 1
            return True
        return False

    def queue(self) -> asyncio.Future[None]:
        """A future resolved when a slot is handed over; cancel it to leave the queue."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return waiter

    def leave(self) -> None:
        """Give a slot back: to the oldest live waiter, or to the pool of free ones."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():  # cancelled waiters stay queued until they come up
                waiter.set_result(None)
                return
        self.free += 1

    def withdraw(self, waiter: asyncio.Future[None]) -> None:
        """Leave the queue; a slot already handed over is passed on."""
        if waiter.done():
            if not waiter.cancelled():
                self.leave()
        else:
            waiter.cancel()


class AdmissionMiddleware(HttpMiddleware):
    def __init__(self, app: Any, limit: int, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        super().__init__(app)
        self.gate = FairGate(limit)
        self.lease_seconds = lease_seconds

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if bypasses(_route_path(scope)):
            await self.app(scope, receive, send)
            return
        if not self.gate.try_enter():
            receive = await self._wait_for_slot(scope, receive)
            if receive is None:
                return  # the client hung up while queued
        await self._run(scope, receive, send)

    async def _run(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Run the app on a slot held until it finishes or the lease runs out."""
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.gate.leave()

        lease = asyncio.get_running_loop().call_later(self.lease_seconds, release)
        try:
            await self.app(scope, receive, send)
        finally:
            lease.cancel()
            release()

    async def _wait_for_slot(self, scope: dict[str, Any], receive: Any) -> Any | None:
        """Queue for a slot while listening for the client: the receive callable the
        app should use once admitted, or None if the client went away first.

        The request's messages that arrive while it waits are kept and replayed to
        the app. (Its size is bounded by MaxBodySizeMiddleware, which sits outside.)
        """
        waiter = self.gate.queue()
        kept: list[dict[str, Any]] = []
        listening: asyncio.Future[dict[str, Any]] | None = None
        try:
            if scope.get(BODY_IN_HAND):
                # Read already (MaxBodySizeMiddleware): each receive answers at once, so
                # it is taken here rather than by a task of its own. What may still come
                # is the disconnect only.
                while not kept or kept[-1].get("more_body"):
                    kept.append(await receive())
                if kept[-1]["type"] == "http.disconnect":
                    self.gate.withdraw(waiter)
                    return None
            while not waiter.done():
                listening = asyncio.ensure_future(receive())
                await _first_of(waiter, listening)
                if not listening.done():
                    break  # admitted while the client is still there
                message = listening.result()
                listening = None
                if message["type"] == "http.disconnect":
                    self.gate.withdraw(waiter)
                    return None
                kept.append(message)
        except BaseException:
            self.gate.withdraw(waiter)
            raise
        finally:
            # Cancelling a pending receive loses no message (Starlette's own
            # `is_disconnected` does the same): the app receives it afresh.
            if listening is not None and not listening.done():
                listening.cancel()
        return replaying(kept, receive) if kept else receive


async def _first_of(*futures: asyncio.Future[Any]) -> None:
    """Wait until one of `futures` is done: asyncio.wait(FIRST_COMPLETED) without the
    sets and the coroutine of its own a queued request would pay for it."""
    woken = asyncio.get_running_loop().create_future()

    def wake(_: asyncio.Future[Any]) -> None:
        if not woken.done():
            woken.set_result(None)

    for future in futures:
        future.add_done_callback(wake)
    try:
        await woken
    finally:
        for future in futures:
            future.remove_done_callback(wake)


def _route_path(scope: dict[str, Any]) -> str:
    """The path the app routes on: behind a proxy prefix (`--root-path`), servers
    following ASGI 3 put the prefix in `path` as well."""
    path: str = scope["path"]
    root = scope.get("root_path")
    if root and path.startswith(root):
        return path[len(root) :]
    return path


def install_admission(app: FastAPI, settings: Settings) -> None:
    """Add the gate when `TORALE_MAX_CONCURRENT_REQUESTS` is set (0: not installed)."""
    if settings.max_concurrent_requests:
        app.add_middleware(AdmissionMiddleware, limit=settings.max_concurrent_requests)
