"""Runs the outbox sweep (torale.webhooks.outbox) inside every Dramatiq worker process.

Living in the worker keeps the guarantee's requirements short: once Redis, PostgreSQL
and one worker are up, stranded deliveries are enqueued again, with no scheduler or
other process involved. A pass runs when the worker boots (a worker started after a
crash picks up at once) and then every `interval` seconds; several worker processes
share the work through the pass's advisory lock, one pass at a time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from dramatiq import Broker, Worker
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)

# Longest wait for one pass (a Redis or PostgreSQL that hangs rather than refuses).
PASS_TIMEOUT_SECONDS = 120.0


class OutboxSweeper(Middleware):
    def __init__(self, sweep: Callable[[], Coroutine[Any, Any, Any]], interval: float) -> None:
        self.sweep = sweep
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="outbox-sweeper", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            # A pass stuck on a dead service must not hold up the stop: the thread is a
            # daemon, and its transaction rolls back with the connection.
            self._thread.join(timeout=2)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            more = self._pass()
            if not more:
                self._stop.wait(self.interval)

    def _pass(self) -> bool:
        """One pass on the actors' event loop; True when another should follow at once."""
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            return False
        future = asyncio.run_coroutine_threadsafe(self.sweep(), loop_thread.loop)
        try:
            report = future.result(timeout=PASS_TIMEOUT_SECONDS)
        except Exception as exc:
            future.cancel()
            # One line per failed pass: the next pass retries, nothing is lost meanwhile.
            log.warning("delivery sweep failed: %s: %s", type(exc).__name__, exc)
            return False
        if report.error:
            log.warning("delivery sweep: %s", report)
        elif report.enqueued or report.interrupted:
            log.info("delivery sweep: %s", report)
        return bool(report.more) and not self._stop.is_set()
