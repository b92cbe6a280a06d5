"""A Dramatiq middleware that carries the trace context in each message's options.

Imported only when tracing is on (torale.observability.tracing).
"""

from __future__ import annotations

import threading
from contextvars import Token
from typing import Any

from dramatiq.middleware import Middleware
from opentelemetry import context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from torale.observability.tracing import MESSAGE_OPTION


class TraceContextMiddleware(Middleware):
    """Enqueue: the current context goes into `options["trace_context"]`. Process: a
    consumer span under it, current while the actor runs (Dramatiq's asyncio thread
    runs the actor's coroutine with a copy of the worker thread's context)."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        # Span and context token per message id, for the hook that closes them.
        self._open: dict[str, tuple[Span, Token[Context]]] = {}
        self._lock = threading.Lock()

    def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if carrier:
            message.options[MESSAGE_OPTION] = carrier

    def before_process_message(self, broker: Any, message: Any) -> None:
        parent = propagate.extract(message.options.get(MESSAGE_OPTION) or {})
        span = self._tracer.start_span(
            f"{message.actor_name} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.destination.name": message.queue_name,
                "messaging.message.id": message.message_id,
                "messaging.operation.type": "process",
            },
        )
        token = context.attach(trace.set_span_in_context(span, parent))
        with self._lock:
            self._open[message.message_id] = (span, token)

    def _close(self, message: Any, exception: BaseException | None = None) -> None:
        with self._lock:
            opened = self._open.pop(message.message_id, None)
        if opened is None:
            return
        span, token = opened
        if exception is not None:
            span.record_exception(exception)
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        span.end()
        context.detach(token)

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        self._close(message, exception)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self._close(message)
