"""One execution, one trace: API request → workflow → activities → Dramatiq delivery.

Tracing is turned on for this module with an in-memory exporter (instead of OTLP)
and turned off again after it, so the rest of the session runs untraced.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from temporalio.client import Client

from tests.executions.execution_helpers import CHAT, evaluation, script_search, start_worker
from tests.helpers import eventually
from tests.observability.metrics_helpers import value
from tests.webhooks.fanout_fixtures import fresh_namespace, own_broker, running_worker
from tests.webhooks.webhook_receiver import running_receiver
from torale.observability import tracing
from torale.webhooks import queue
from torale.webhooks.models import Delivery


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.setup("torale-test", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.teardown()


@pytest.fixture
def traced_broker(spans, service_urls) -> Iterator:
    """A broker built while tracing is on (so with the trace middleware), own namespace."""
    options = queue.BrokerOptions(namespace=fresh_namespace("torale-trace"))
    with own_broker(service_urls.redis_url, options) as broker:
        yield broker


def _ancestors(span, by_id) -> list[str]:
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_one_trace_follows_an_execution_to_its_delivery(
    spans, traced_broker, make_stack, make_account, llm, searx, temporal_client
):
    script_search(searx)
    llm.script("POST", CHAT, evaluation(True, answer="September 19", state={"date": "09-19"}))
    account = await make_account()
    executions_before = value("torale_executions_total", status="success")
    deliveries_before = value(
        "torale_delivery_attempts_total", channel="webhook", outcome="success"
    )
    with running_receiver() as receiver:
        async with make_stack(worker=False) as stack:
            # The worker's client carries Temporal's tracing interceptor, as in production.
            traced = Client(
                temporal_client.service_client,
                namespace=temporal_client.namespace,
                interceptors=tracing.temporal_interceptors(),
            )
            with running_worker(traced_broker, stack.settings):
                async with start_worker(
                    stack.settings,
                    stack.resources,
                    traced,
                    deliveries=queue.DeliveryProducer(traced_broker),
                ):
                    task = await stack.create_task(
                        account.headers,
                        notify_behavior="always",
                        notifications=[{"type": "webhook", "url": receiver.url("/hook")}],
                    )
                    spans.clear()
                    done = await stack.run(account.headers, task["id"])
                    assert done["status"] == "success" and done["condition_met"] is True

                    async def delivered() -> bool:
                        async with stack.resources.session_factory() as session:
                            statuses = await session.execute(select(Delivery.status))
                            return list(statuses.scalars()) == ["succeeded"]

                    await eventually(delivered, bool, 15.0)
                    # The consumer span ends just after the actor returns.
                    await eventually(_finished(spans, "webhook.deliver process"), bool, 5.0)

    finished = spans.get_finished_spans()
    [request] = [
        s
        for s in finished
        if s.kind == SpanKind.SERVER and s.name == "POST /api/v1/tasks/{task_id}/execute"
    ]
    assert request.resource.attributes["service.name"] == "torale-test"
    trace_id = request.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in in_trace}
    names = {s.name for s in in_trace}
    for expected in (
        "StartWorkflow:TaskExecutionWorkflow",
        "RunWorkflow:TaskExecutionWorkflow",
        "RunActivity:execution_claim",
        "RunActivity:execution_evaluate",
        "RunActivity:execution_persist",
        "RunActivity:execution_hand_off",
        "webhook.deliver process",
    ):
        assert expected in names, f"{expected} not in the execution's trace: {sorted(names)}"

    # The tree, as Temporal's interceptor draws it: the workflow's run and each
    # activity's start hang under the request's StartWorkflow, each activity's run
    # under its start.
    root = "POST /api/v1/tasks/{task_id}/execute"
    start = "StartWorkflow:TaskExecutionWorkflow"
    [run] = [s for s in in_trace if s.name == "RunWorkflow:TaskExecutionWorkflow"]
    assert _ancestors(run, by_id) == [start, root]
    for activity in ("claim", "evaluate", "persist", "hand_off"):
        [span] = [s for s in in_trace if s.name == f"RunActivity:execution_{activity}"]
        assert _ancestors(span, by_id) == [f"StartActivity:execution_{activity}", start, root]
    [delivery] = [s for s in in_trace if s.name == "webhook.deliver process"]
    assert delivery.kind == SpanKind.CONSUMER
    assert _ancestors(delivery, by_id) == [
        "RunActivity:execution_hand_off",
        "StartActivity:execution_hand_off",
        start,
        root,
    ]
    # The instrumented libraries add their spans in the same trace: the webhook POST
    # (httpx) under the delivery, SQL statements (asyncpg) in API and activities.
    assert any(
        s.kind == SpanKind.CLIENT
        and "webhook.deliver process" in _ancestors(s, by_id)
        and s.attributes.get("http.request.method", s.attributes.get("http.method")) == "POST"
        for s in in_trace
    )
    assert any(s.attributes.get("db.system") == "postgresql" for s in in_trace) or any(
        s.attributes.get("db.system.name") == "postgresql" for s in in_trace
    )
    # No other trace was started for this execution: every span of its pipeline is here.
    stray = [
        s.name
        for s in finished
        if s.context.trace_id != trace_id
        and (s.name.startswith(("RunActivity", "RunWorkflow")) or s.name.startswith("webhook"))
    ]
    assert stray == []

    # The same run, as metrics.
    assert value("torale_executions_total", status="success") == executions_before + 1
    assert (
        value("torale_delivery_attempts_total", channel="webhook", outcome="success")
        == deliveries_before + 1
    )


def _finished(spans: InMemorySpanExporter, name: str):
    async def probe() -> bool:
        return any(s.name == name for s in spans.get_finished_spans())

    return probe
