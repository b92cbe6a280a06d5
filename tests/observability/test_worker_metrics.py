"""What the workers record: failed executions, delivery outcomes and retries.

(A successful execution and delivery are counted in test_execution_trace; the
reconciler's repairs in tests/tasks/test_reconcile_tasks.)"""

from __future__ import annotations

from tests.observability.metrics_helpers import value
from tests.webhooks.fanout_helpers import make_condition_met, make_user
from tests.webhooks.webhook_receiver import running_receiver
from torale.db import unit_of_work
from torale.net import safe_client
from torale.webhooks.delivery import deliver
from torale.webhooks.fanout import create_deliveries


async def test_a_failed_execution_is_counted_with_its_duration(make_stack, make_account):
    failed = value("torale_executions_total", status="failed")
    timed = value("torale_execution_duration_seconds_count", status="failed")
    account = await make_account()
    async with make_stack(providers=False) as stack:
        task = await stack.create_task(account.headers)
        done = await stack.run(account.headers, task["id"])
    assert done["status"] == "failed"
    assert value("torale_executions_total", status="failed") == failed + 1
    assert value("torale_execution_duration_seconds_count", status="failed") == timed + 1


async def test_delivery_outcomes_and_retries_are_counted(settings, resources):
    delivery_settings = settings.model_copy(
        update={"allow_private_urls": True, "webhook_retry_schedule": "0.1,0.1"}
    )
    labels = {"channel": "webhook"}
    before = {
        outcome: value("torale_delivery_attempts_total", outcome=outcome, **labels)
        for outcome in ("retry", "failed", "gone")
    }
    retries = value("torale_delivery_retries_total", **labels)
    factory = resources.session_factory
    with running_receiver() as receiver:
        user_id = await make_user(factory)
        channels = [
            {"type": "webhook", "url": receiver.url("/fail")},
            {"type": "webhook", "url": receiver.url("/gone")},
        ]
        _, execution_id = await make_condition_met(factory, user_id, channels)
        async with unit_of_work(factory) as session:
            rows = await create_deliveries(session, execution_id)
        failing, gone = sorted(rows, key=lambda r: r.target)  # /fail, /gone
        async with safe_client(allow_private=True, timeout=5) as http:
            # /fail: two retries scheduled, then out of attempts; /gone: final at once.
            for _ in range(3):
                async with unit_of_work(factory) as session:
                    await deliver(session, failing.id, settings=delivery_settings, http_client=http)
            async with unit_of_work(factory) as session:
                await deliver(session, gone.id, settings=delivery_settings, http_client=http)

    def delta(outcome: str) -> float:
        return value("torale_delivery_attempts_total", outcome=outcome, **labels) - before[outcome]

    assert (delta("retry"), delta("failed"), delta("gone")) == (2, 1, 1)
    # Attempts 2 and 3 of the failing delivery were retries.
    assert value("torale_delivery_retries_total", **labels) == retries + 2
