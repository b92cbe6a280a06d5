"""Prometheus metrics: what each process records, and the text `/metrics` answers with.

Several processes record (the API, the Temporal worker, the Dramatiq worker, and any
replicas). With `PROMETHEUS_MULTIPROC_DIR` set, prometheus-client's multiprocess mode
keeps each process's values in files there and `/metrics` (served by the API) adds up
all of them: one scrape sees executions recorded by the Temporal worker and deliveries
recorded by the Dramatiq worker. `torale dev` sets it for its children (a fresh
directory per start). Without it each process keeps its own values in memory, and the
API's `/metrics` shows only the API's.

Queue depth is not recorded by anyone: it is read from Redis and PostgreSQL when
`/metrics` is scraped, so it is right even while no worker is running.

prometheus-client decides its mode when it is first imported, so this module must be
imported after the environment is set (it is, by every `torale` entry point).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from torale.observability.multiprocess import MULTIPROC_ENV

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Request and execution latencies: fast REST calls up to slow LLM-backed runs.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_EXECUTION_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)

REQUESTS = Counter(
    "torale_http_requests_total",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "torale_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=_REQUEST_BUCKETS,
)
EXECUTIONS = Counter(
    "torale_executions_total",
    "Executions that reached a final status (success or failed)",
    ["status"],
)
EXECUTION_SECONDS = Histogram(
    "torale_execution_duration_seconds",
    "From an execution's start to its final status",
    ["status"],
    buckets=_EXECUTION_BUCKETS,
)
DELIVERY_ATTEMPTS = Counter(
    "torale_delivery_attempts_total",
    "Notification delivery attempts, by channel and outcome "
    "(success, retry, failed, refused, gone)",
    ["channel", "outcome"],
)
DELIVERY_RETRIES = Counter(
    "torale_delivery_retries_total",
    "Delivery attempts that were retries (attempt number above 1), by channel",
    ["channel"],
)
RECONCILER_REPAIRS = Counter(
    "torale_reconciler_repairs_total",
    "Schedule drift repaired by the reconciler, by kind "
    "(created, deleted, updated, paused, unpaused)",
    ["kind"],
)
RATE_LIMIT_REFUSALS = Counter(
    "torale_rate_limit_refusals_total",
    "Requests refused with 429, by limiter (its Redis key namespace)",
    ["limiter"],
)


# The labelled children of the request metrics, per (method, route, status): `labels()`
# takes a lock and rebuilds its key on every call, which every request would pay. Label
# values are few (method and route template sets are closed), so this stays small.
_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    children = _REQUEST_CHILDREN.get((method, route, status))
    if children is None:
        children = _REQUEST_CHILDREN[(method, route, status)] = (
            REQUESTS.labels(method, route, str(status)),
            REQUEST_SECONDS.labels(method, route),
        )
    children[0].inc()
    children[1].observe(seconds)


def observe_execution(status: str, seconds: float | None) -> None:
    EXECUTIONS.labels(status).inc()
    if seconds is not None:
        EXECUTION_SECONDS.labels(status).observe(max(seconds, 0.0))


def observe_delivery_attempt(channel: str, outcome: str, attempt_number: int) -> None:
    DELIVERY_ATTEMPTS.labels(channel, outcome).inc()
    if attempt_number > 1:
        DELIVERY_RETRIES.labels(channel).inc()


def observe_repairs(kinds: Iterable[str]) -> None:
    for kind in kinds:
        RECONCILER_REPAIRS.labels(kind).inc()


def observe_refusal(limiter: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limiter).inc()


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """Read at scrape time: messages in Dramatiq's Redis queues, deliveries pending."""

    dramatiq_ready: int
    dramatiq_delayed: int
    outbox_pending: int
    outbox_due: int


class _QueueDepthCollector(Collector):
    def __init__(self, depth: QueueDepth) -> None:
        self._depth = depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        messages = GaugeMetricFamily(
            "torale_queue_messages",
            "Messages in the Dramatiq notifications queue (ready, or delayed retries)",
            labels=["queue", "state"],
        )
        messages.add_metric(["notifications", "ready"], self._depth.dramatiq_ready)
        messages.add_metric(["notifications", "delayed"], self._depth.dramatiq_delayed)
        yield messages
        outbox = GaugeMetricFamily(
            "torale_outbox_pending_deliveries",
            "Deliveries waiting for an attempt (due: their next attempt time has come)",
            labels=["when"],
        )
        outbox.add_metric(["any"], self._depth.outbox_pending)
        outbox.add_metric(["due"], self._depth.outbox_due)
        yield outbox


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def render(depth: QueueDepth | None) -> bytes:
    """The exposition text: every process's values (multiprocess) or this one's."""
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        recorded = CollectorRegistry()
        multiprocess.MultiProcessCollector(recorded, path=directory)
    else:
        from prometheus_client import REGISTRY

        recorded = REGISTRY
    text = generate_latest(recorded)
    if depth is not None:
        scraped = CollectorRegistry(auto_describe=False)
        scraped.register(_QueueDepthCollector(depth))
        text += generate_latest(scraped)
    return text
