"""`/metrics`: where it is served, who may read it, and what the API records."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from pydantic import SecretStr

from tests.helpers import app_client, task_body
from tests.observability.metrics_helpers import parse, value
from torale.db import unit_of_work
from torale.executions.models import Execution, ExecutionStatus
from torale.observability.metrics_http import bound_port
from torale.webhooks import queue
from torale.webhooks.fanout import create_deliveries

TOKEN = "metrics-token-for-the-tests"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def test_not_served_unless_configured(client):
    assert (await client.get("/metrics")).status_code == 404


async def test_token_protects_metrics_on_the_api_port(settings, make_account):
    async with app_client(settings, metrics_token=SecretStr(TOKEN)) as (_, http):
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401 and wrong.json() == {"detail": "Invalid metrics token"}
        assert wrong.headers["www-authenticate"] == "Bearer"

        account = await make_account()
        route = "/api/v1/tasks/{task_id}"
        before = value("torale_http_requests_total", method="GET", route=route, status="404")
        timed = value("torale_http_request_duration_seconds_count", method="GET", route=route)
        unmatched = value(
            "torale_http_requests_total", method="GET", route="unmatched", status="404"
        )
        for _ in range(2):
            missing = await http.get(f"/api/v1/tasks/{uuid.uuid4()}", headers=account.headers)
            assert missing.status_code == 404
        await http.get("/no/such/path")
        odd = value("torale_http_requests_total", method="OTHER", route="unmatched", status="404")
        await http.request("BREW", "/no/such/pot")
        graphql = value("torale_http_requests_total", method="POST", route="/graphql", status="200")
        query = {"query": "{ export_tasks { version } }"}
        assert (await http.post("/graphql", json=query, headers=account.headers)).status_code == 200

        response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        samples = parse(response.text)
        # By route template, never the raw path.
        key = f'torale_http_requests_total{{method="GET",route="{route}",status="404"}}'
        assert samples[key] == before + 2
        assert (
            samples[f'torale_http_request_duration_seconds_count{{method="GET",route="{route}"}}']
            == timed + 2
        )
        unmatched_key = 'torale_http_requests_total{method="GET",route="unmatched",status="404"}'
        assert samples[unmatched_key] == unmatched + 1
        # A made-up method is not a label value of its own.
        odd_key = 'torale_http_requests_total{method="OTHER",route="unmatched",status="404"}'
        assert samples[odd_key] == odd + 1 and "BREW" not in response.text
        graphql_key = 'torale_http_requests_total{method="POST",route="/graphql",status="200"}'
        assert samples[graphql_key] == graphql + 1
        # No raw path (a task id in a label) anywhere, whatever other tests requested.
        assert not any(_UUID.search(k) for k in samples)
        # Queue depth is read at scrape time.
        assert 'torale_queue_messages{queue="notifications",state="ready"}' in samples
        assert 'torale_outbox_pending_deliveries{when="due"}' in samples


async def test_separate_port_without_token(settings):
    async with app_client(settings, metrics_port=0) as (app, http):
        # Not on the API port...
        assert (await http.get("/metrics")).status_code == 404
        port = bound_port(app.state.metrics_server)
        async with httpx.AsyncClient() as outside:
            response = await outside.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
        assert "torale_http_requests_total" in response.text
    # ...and the listener stops with the API.
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as outside:
            await outside.get(f"http://127.0.0.1:{port}/metrics")


async def test_separate_port_with_token(settings):
    async with app_client(settings, metrics_port=0, metrics_token=SecretStr(TOKEN)) as (app, _):
        url = f"http://127.0.0.1:{bound_port(app.state.metrics_server)}/metrics"
        async with httpx.AsyncClient() as outside:
            assert (await outside.get(url)).status_code == 401
            allowed = await outside.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
            assert allowed.status_code == 200


async def test_rate_limit_refusals_are_counted(settings, make_account):
    async with app_client(settings, rate_limits="2/minute") as (_, http):
        account = await make_account()
        before = value("torale_rate_limit_refusals_total", limiter="torale:rl")
        statuses = [
            (await http.get("/api/v1/tasks", headers=account.headers)).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        assert value("torale_rate_limit_refusals_total", limiter="torale:rl") == before + 1


async def test_queue_depth_read_at_scrape(settings, service_urls, make_account):
    namespace = f"torale-metrics-{uuid.uuid4().hex[:8]}"
    broker = queue.build_broker(service_urls.redis_url, queue.BrokerOptions(namespace=namespace))
    try:
        for _ in range(3):
            queue.send_delivery(uuid.uuid4(), 0, broker=broker)
        queue.send_delivery(uuid.uuid4(), 0, delay_seconds=600, broker=broker)
        async with app_client(
            settings, metrics_token=SecretStr(TOKEN), dramatiq_namespace=namespace
        ) as (
            app,
            http,
        ):
            # A pending delivery: a task with a channel whose execution met its condition.
            account = await make_account()
            created = await http.post(
                "/api/v1/tasks",
                json=task_body(notifications=[{"type": "email", "address": "a@example.com"}]),
                headers=account.headers,
            )
            assert created.status_code == 201
            before = parse(
                (await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
            )
            await _pending_delivery(app.state.resources, created.json()["id"])
            samples = parse(
                (await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
            )
    finally:
        keys = broker.client.keys(f"{namespace}*")
        if keys:
            broker.client.delete(*keys)
        broker.close()
    assert samples['torale_queue_messages{queue="notifications",state="ready"}'] == 3
    assert samples['torale_queue_messages{queue="notifications",state="delayed"}'] == 1
    assert (
        samples['torale_outbox_pending_deliveries{when="any"}']
        == before['torale_outbox_pending_deliveries{when="any"}'] + 1
    )


async def _pending_delivery(res, task_id: str) -> None:
    """An execution that met its condition, with its delivery recorded, not yet sent."""
    async with unit_of_work(res.session_factory) as session:
        execution = Execution(
            task_id=uuid.UUID(task_id),
            status=ExecutionStatus.SUCCESS,
            condition_met=True,
            notification_due=True,
        )
        session.add(execution)
        await session.flush()
        assert len(await create_deliveries(session, execution.id)) == 1
