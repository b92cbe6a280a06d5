"""OpenTelemetry traces: one trace per execution, API request to webhook delivery.

On only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (then spans go there over OTLP/HTTP,
configured by the standard `OTEL_*` variables), with the `tracing` extra installed.
Otherwise nothing is set up and the OpenTelemetry SDK and instrumentations are never
imported by torale: every function here returns at its first line, so tracing costs
an environment lookup at start-up.

What carries the trace from one process to the next:
- the API: FastAPI's instrumentation opens a span per request; asyncpg's (the driver
  under SQLAlchemy) and httpx's add a span per query and per outgoing request (in
  every process);
- API → Temporal → worker: Temporal's `TracingInterceptor` on each client (a worker
  uses its client's) puts the context in workflow and activity headers, so the
  workflow run and each activity are children of the request that started them;
- activity → Dramatiq: `TraceContextMiddleware` writes the current context into the
  message's options (`trace_context`, W3C `traceparent`) when it is enqueued and opens
  a consumer span under it when a worker processes the message. A retry is enqueued
  inside that span, so it stays in the same trace.
"""

from __future__ import annotations

import os
import threading
from typing import Any

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
# The option of a Dramatiq message that carries its W3C trace context.
MESSAGE_OPTION = "trace_context"

_lock = threading.Lock()
# Our own provider, never installed as OpenTelemetry's global one: FastAPI's native
# telemetry switches itself on once a global provider exists, which would add a second
# server span per request to the instrumentation's (and stay on in a test session).
_provider: Any = None


def enabled() -> bool:
    return _provider is not None


def setup(service_name: str, *, exporter: Any = None) -> bool:
    """Turn tracing on for this process (once); False when it stays off.

    `exporter` (a SpanExporter) replaces OTLP, and turns tracing on without the
    endpoint variable: tests pass an in-memory one. The asyncpg and httpx
    instrumentation patch the libraries' classes, so connections and clients made
    earlier are traced too.
    """
    global _provider
    if exporter is None and not os.environ.get(ENDPOINT_ENV):
        return False
    with _lock:
        if _provider is not None:
            return True
        try:
            import opentelemetry.sdk.trace  # noqa: F401
        except ImportError:
            raise RuntimeError(
                f"{ENDPOINT_ENV} is set, but the tracing packages are not installed: "
                "pip install 'torale[tracing]'"
            ) from None
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processor: Any = BatchSpanProcessor(OTLPSpanExporter())
        else:
            processor = SimpleSpanProcessor(exporter)
        # OTEL_RESOURCE_ATTRIBUTES is read by Resource.create; OTEL_SERVICE_NAME wins.
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
        provider.add_span_processor(processor)
        # Every asyncpg query (what SQLAlchemy runs) and every httpx request.
        AsyncPGInstrumentor().instrument(tracer_provider=provider)
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        _provider = provider
        return True


def flush() -> None:
    """Send what the provider still buffers (what its exit hook would do), if tracing is on."""
    if _provider is not None:
        _provider.shutdown()


def tracer(name: str) -> Any:
    """A tracer of torale's provider (tracing must be on)."""
    assert _provider is not None, "tracing is off"
    return _provider.get_tracer(name)


def instrument_app(app: Any) -> None:
    """A server span per request on the FastAPI app (after `setup`)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls="/health,/ready,/metrics"
    )


def temporal_interceptors() -> list[Any]:
    """For `Client.connect(interceptors=...)`: empty unless tracing is on."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    # Workflow spans also for runs no traced caller started (schedule ticks).
    return [TracingInterceptor(tracer("temporalio"), always_create_workflow_spans=True)]


def dramatiq_middleware() -> list[Any]:
    """For a Dramatiq broker: empty unless tracing is on."""
    if _provider is None:
        return []
    from torale.observability.dramatiq_tracing import TraceContextMiddleware

    return [TraceContextMiddleware(tracer("torale.dramatiq"))]


def teardown() -> None:
    """Undo `setup`: flush and stop the exporter, remove the httpx and asyncpg
    instrumentation. For tests and for programs that embed torale and end tracing
    before they exit."""
    global _provider
    with _lock:
        if _provider is None:
            return
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().uninstrument()
        AsyncPGInstrumentor().uninstrument()
        _provider.shutdown()
        _provider = None
