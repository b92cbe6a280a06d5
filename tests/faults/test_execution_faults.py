"""Fault injection around executions, PostgreSQL and Temporal, with real processes and
real signals.

The module runs its own PostgreSQL (embedded, restarted by the cases) and its own
Temporal dev server; Redis is the session's, under a Dramatiq namespace of each case's
own. Workers and the API that a case breaks are the real `torale worker temporal` and
`torale api` commands in child processes; the API a case only uses to set things up
runs in-process. LLM and search are local peers speaking their protocols.

Every case is bounded in time, asserts that no execution is left pending/running and
that no execution's condition_met delivery is recorded twice (or lost), and prints a
`FAULT CASE | …` line with its counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowFailureError

from tests.executions.execution_helpers import CHAT, evaluation, eventually, script_search
from tests.faults.execution_fault_harness import (
    FaultCounts,
    PrivatePostgres,
    ToraleProcess,
    activity_attempts,
    fault_counts,
    heartbeat_timeouts,
    private_postgres,
    process_env,
    query_when_up,
)
from tests.helpers import api_on_own_temporal, start_private_temporal, task_body
from tests.monitoring.monitoring_peer import ScriptedServer
from torale.app import create_app
from torale.db import create_engine, session_factory, unit_of_work
from torale.executions.liveness import WORKFLOW_ENDED_TYPE, sweep_stale_executions
from torale.scheduling.constants import execution_workflow_id
from torale.users import service as users

DONE = ("success", "failed")
WEBHOOK = {"type": "webhook", "url": "https://hooks.example.com/torale"}
DATABASE_UNAVAILABLE = "Database unavailable, try again shortly"


# --- the module's own services


@pytest.fixture(scope="module")
def fault_pg() -> Iterator[PrivatePostgres]:
    with private_postgres() as pg:
        yield pg


@pytest.fixture(scope="module")
async def fault_temporal():
    env = await start_private_temporal()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def fault_settings(settings, fault_pg, fault_temporal, llm, searx):
    case = uuid.uuid4().hex[:10]
    return settings.model_copy(
        update={
            "database_url": fault_pg.url,
            "temporal_address": fault_temporal.client.service_client.config.target_host,
            "temporal_task_queue": f"faults-{case}",
            "dramatiq_namespace": f"torale-faults-{case}",
            "allow_private_urls": True,
            "llm_base_url": f"{llm.url}/v1",
            "llm_model": "test-model",
            "llm_api_key": "sk-test",
            "searxng_url": searx.url,
        }
    )


# --- the API used to set a case up (in-process) and what it creates


@dataclass
class Api:
    http: httpx.AsyncClient
    resources: Any
    headers: dict[str, str]
    task_ids: list[str]

    async def create_task(self, **overrides: Any) -> str:
        response = await self.http.post(
            "/api/v1/tasks", json=task_body(**overrides), headers=self.headers
        )
        assert response.status_code == 201, response.text
        self.task_ids.append(response.json()["id"])
        return response.json()["id"]

    async def execute(self, task_id: str) -> str:
        response = await self.http.post(f"/api/v1/tasks/{task_id}/execute", headers=self.headers)
        assert response.status_code == 202, response.text
        return response.json()["execution_id"]


async def create_key(factory) -> str:
    async with unit_of_work(factory) as session:
        user = await users.ensure_user(session, f"faults-{uuid.uuid4().hex[:8]}@example.com")
        return (await users.create_api_key(session, user, "faults")).plain_key


@contextlib.asynccontextmanager
async def in_process_api(settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        resources = app.state.resources
        key = await create_key(resources.session_factory)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://faults") as http:
            yield Api(http, resources, {"Authorization": f"Bearer {key}"}, [])


@contextlib.asynccontextmanager
async def torale_process(args: list[str], env: dict[str, str], logs: Path, name: str):
    process = await ToraleProcess(args, env, logs, name).start()
    try:
        yield process
    except BaseException:
        print(f"--- {name} log:\n{process.log()}")
        raise
    finally:
        await process.stop()


def stalled(seconds: float, **kwargs: Any):
    reply = evaluation(True, **kwargs)
    reply.delay = seconds
    return reply


async def llm_called(llm: ScriptedServer, within: float = 30.0) -> None:
    async def calls() -> int:
        return len(llm.requests_to(CHAT))

    await eventually(calls, lambda n: n >= 1, within=within, what="the LLM call")


async def execution_row(url: str, execution_id: str) -> dict[str, Any]:
    rows = await query_when_up(
        url,
        "SELECT status, attempt, error_message, error_type FROM executions WHERE id = %s",
        execution_id,
    )
    status, attempt, message, error_type = rows[0]
    return {"status": status, "attempt": attempt, "error_message": message, "type": error_type}


async def finished(url: str, execution_id: str, within: float) -> dict[str, Any]:
    return await eventually(
        lambda: execution_row(url, execution_id),
        lambda row: row["status"] in DONE,
        within=within,
        what=f"execution {execution_id} finished",
    )


async def deliveries_of(url: str, execution_id: str) -> int:
    rows = await query_when_up(
        url, "SELECT count(*) FROM deliveries WHERE execution_id = %s", execution_id
    )
    return rows[0][0]


async def delivery_handed_off(url: str, execution_id: str) -> None:
    # The hand-off follows the commit: give it its moment.
    await eventually(
        lambda: deliveries_of(url, execution_id), lambda n: n >= 1, within=20, what="the delivery"
    )


def workflow_of(execution_id: str) -> str:
    return execution_workflow_id(uuid.UUID(execution_id))


async def execution_case_counts(
    temporal: Any, url: str, case: str, api: Api, execution_id: str
) -> tuple[FaultCounts, dict[str, int]]:
    """The case's counts, and the Temporal activity attempts of its execution by activity."""
    attempts = await activity_attempts(temporal.client, workflow_of(execution_id))
    counts = await fault_counts(url, case, api.task_ids, sum(attempts.values()))
    return counts, attempts


async def successor_finishes(
    env: dict[str, str], logs: Path, url: str, execution_id: str, *, killed_at: float, within: float
) -> tuple[dict[str, Any], float]:
    """A new worker takes over the execution a killed one held: the execution's final row
    and the seconds from the kill to it, once its delivery is handed off too."""
    async with torale_process(["worker", "temporal"], env, logs, "successor"):
        done = await finished(url, execution_id, within=within)
        recovered_in = time.monotonic() - killed_at
        await delivery_handed_off(url, execution_id)
    return done, recovered_in


# --- Temporal worker SIGKILLed mid-activity


async def test_temporal_worker_sigkilled_mid_activity(
    fault_settings, fault_temporal, llm, searx, tmp_path
):
    script_search(searx)
    # The first attempt hangs in the LLM call, so the worker dies holding it.
    llm.script("POST", CHAT, stalled(60), evaluation(True, answer="September 19"))
    env = process_env(
        fault_settings, TORALE_DATA_DIR=str(tmp_path), TORALE_EXECUTION_HEARTBEAT_SECONDS="3"
    )
    async with in_process_api(fault_settings) as api:
        task_id = await api.create_task(notify_behavior="always", notifications=[WEBHOOK])
        async with torale_process(["worker", "temporal"], env, tmp_path, "doomed") as doomed:
            execution_id = await api.execute(task_id)
            await llm_called(llm)
            await doomed.kill()
            killed_at = time.monotonic()
        done, recovered_in = await successor_finishes(
            env, tmp_path, fault_settings.database_url, execution_id, killed_at=killed_at, within=60
        )
        heartbeats = await heartbeat_timeouts(fault_temporal.client, workflow_of(execution_id))
        counts, attempts = await execution_case_counts(
            fault_temporal,
            fault_settings.database_url,
            "Temporal worker SIGKILLed mid-activity",
            api,
            execution_id,
        )
    counts.report(
        evaluate_attempts=attempts["execution_evaluate"], recovered_s=round(recovered_in, 1)
    )
    # The killed attempt timed out on its heartbeat (3 s, from the setting) and ran again.
    assert done["status"] == "success" and done["attempt"] == 2, done
    assert heartbeats["execution_evaluate"] == 3.0
    assert attempts["execution_evaluate"] == 2
    assert len(llm.requests_to(CHAT)) == 2
    assert await deliveries_of(fault_settings.database_url, execution_id) == 1
    counts.assert_clean()


async def test_temporal_worker_sigkilled_mid_persist(
    fault_settings, fault_temporal, llm, searx, tmp_path
):
    """Killed while recording the outcome: the heartbeat, not the 60 s start-to-close
    timeout, hands the step to the next worker."""
    import psycopg

    script_search(searx)
    llm.script("POST", CHAT, stalled(1, answer="September 19"))
    env = process_env(
        fault_settings, TORALE_DATA_DIR=str(tmp_path), TORALE_EXECUTION_HEARTBEAT_SECONDS="3"
    )
    url = fault_settings.database_url
    async with in_process_api(fault_settings) as api:
        task_id = await api.create_task(notify_behavior="always", notifications=[WEBHOOK])
        # Holding the task row makes `persist` wait for its lock, alive and heartbeating.
        blocker = await psycopg.AsyncConnection.connect(url)
        try:
            async with torale_process(["worker", "temporal"], env, tmp_path, "doomed") as doomed:
                execution_id = await api.execute(task_id)
                await llm_called(llm)
                await blocker.execute("SELECT 1 FROM tasks WHERE id = %s FOR UPDATE", (task_id,))

                async def waiting_for_the_lock() -> int:
                    rows = await query_when_up(
                        url, "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    )
                    return rows[0][0]

                await eventually(waiting_for_the_lock, lambda n: n >= 1, within=30)
                await doomed.kill()
                killed_at = time.monotonic()
        finally:
            await blocker.rollback()
            await blocker.close()
        done, recovered_in = await successor_finishes(
            env, tmp_path, url, execution_id, killed_at=killed_at, within=45
        )
        counts, attempts = await execution_case_counts(
            fault_temporal, url, "Temporal worker SIGKILLed mid-persist", api, execution_id
        )
    counts.report(
        persist_attempts=attempts["execution_persist"], recovered_s=round(recovered_in, 1)
    )
    assert done["status"] == "success", done
    assert attempts["execution_persist"] == 2 and attempts["execution_evaluate"] == 1
    # Well before the 60 s start-to-close timeout would have noticed the dead worker.
    assert recovered_in < 40
    assert await deliveries_of(url, execution_id) == 1
    counts.assert_clean()


# --- PostgreSQL restarted during an execution


async def test_postgres_restarted_during_an_execution_is_ridden_out(
    fault_settings, fault_pg, fault_temporal, llm, searx, tmp_path
):
    script_search(searx)
    # The answer arrives while PostgreSQL is down: recording it must wait for it.
    llm.script("POST", CHAT, stalled(3, answer="September 19"))
    env = process_env(fault_settings, TORALE_DATA_DIR=str(tmp_path))
    async with in_process_api(fault_settings) as api:
        task_id = await api.create_task(notify_behavior="always", notifications=[WEBHOOK])
        async with torale_process(["worker", "temporal"], env, tmp_path, "worker") as worker:
            execution_id = await api.execute(task_id)
            await llm_called(llm)
            # Down longer than the provider retry policy (3 attempts: 1 s + 2 s) lasts.
            await asyncio.to_thread(fault_pg.restart, 8.0)
            done = await finished(fault_settings.database_url, execution_id, within=60)
            await delivery_handed_off(fault_settings.database_url, execution_id)
            assert worker.alive  # it recovered without a restart
        counts, attempts = await execution_case_counts(
            fault_temporal,
            fault_settings.database_url,
            "PostgreSQL restarted during an execution",
            api,
            execution_id,
        )
    counts.report(persist_attempts=attempts["execution_persist"])
    assert done["status"] == "success" and done["error_message"] is None, done
    assert attempts["execution_persist"] >= 2  # it failed while PostgreSQL was away
    assert await deliveries_of(fault_settings.database_url, execution_id) == 1
    counts.assert_clean()


async def test_postgres_down_past_every_retry_leaves_a_readable_failure(
    fault_settings, fault_pg, fault_temporal, llm, searx, tmp_path
):
    script_search(searx)
    llm.script("POST", CHAT, stalled(1, answer="September 19"))
    # Two database attempts (1 s apart): the outage outlasts persist and the failure record.
    env = process_env(
        fault_settings, TORALE_DATA_DIR=str(tmp_path), TORALE_EXECUTION_DATABASE_ATTEMPTS="2"
    )
    async with in_process_api(fault_settings) as api:
        task_id = await api.create_task(notify_behavior="always", notifications=[WEBHOOK])
        async with torale_process(["worker", "temporal"], env, tmp_path, "worker"):
            execution_id = await api.execute(task_id)
            await llm_called(llm)
            await asyncio.to_thread(fault_pg.stop)
            try:
                handle = fault_temporal.client.get_workflow_handle(workflow_of(execution_id))
                with pytest.raises(WorkflowFailureError):
                    await asyncio.wait_for(handle.result(), timeout=60)
            finally:
                await asyncio.to_thread(fault_pg.start)
        stranded = await execution_row(fault_settings.database_url, execution_id)
        # What the reconcile pass does every few minutes (it also runs in the worker).
        swept = await sweep_stale_executions(
            api.resources.session_factory, fault_temporal.client, min_age=timedelta(0)
        )
        done = await execution_row(fault_settings.database_url, execution_id)
        counts, _ = await execution_case_counts(
            fault_temporal,
            fault_settings.database_url,
            "PostgreSQL down past every retry",
            api,
            execution_id,
        )
    counts.report(stranded_before_sweep=stranded["status"], swept=swept)
    assert stranded["status"] == "running"
    assert swept == 1
    assert done["status"] == "failed" and done["type"] == WORKFLOW_ENDED_TYPE
    assert "workflow ended (failed)" in done["error_message"]
    counts.assert_clean()


# --- PostgreSQL restarted while the API serves


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    at: float
    path: str
    status: int
    body: Any


async def ask(http: httpx.AsyncClient, headers: dict[str, str], task_id: str) -> list[Answer]:
    """One round of requests that each need the database: reads and a write."""
    calls = [
        ("GET", "/api/v1/tasks", None),
        ("GET", "/auth/me", None),
        ("POST", "/graphql", {"query": "{ tasks { total } }"}),
        ("PUT", f"/api/v1/tasks/{task_id}", {"name": f"renamed {uuid.uuid4().hex[:6]}"}),
    ]
    answers = []
    for method, path, body in calls:
        response = await http.request(method, path, headers=headers, json=body)
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        answers.append(Answer(time.monotonic(), path, response.status_code, payload))
    return answers


def ok(answer: Answer) -> bool:
    errors = isinstance(answer.body, dict) and answer.body.get("errors")
    return answer.status == 200 and not errors


async def test_api_answers_503_while_postgres_restarts_and_recovers_without_restart(
    fault_settings, fault_pg, tmp_path
):
    engine = create_engine(fault_settings)
    try:
        key = await create_key(session_factory(engine))
    finally:
        await engine.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    port = free_port()
    # Requests come fast while PostgreSQL is away: rate limits are not under test.
    env = process_env(
        fault_settings, TORALE_DATA_DIR=str(tmp_path), TORALE_RATE_LIMITS="100000/minute"
    )
    args = ["api", "--host", "127.0.0.1", "--port", str(port)]
    async with (
        torale_process(args, env, tmp_path, "api") as api,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
    ):

        async def health() -> int:
            with contextlib.suppress(httpx.TransportError):
                return (await http.get("/health")).status_code
            return 0

        await eventually(health, lambda s: s == 200, within=30, what="the API up")
        pid = api.pid
        created = await http.post("/api/v1/tasks", json=task_body(), headers=headers)
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        assert all(ok(a) for a in await ask(http, headers, task_id))

        answers: list[Answer] = []
        restart = asyncio.create_task(asyncio.to_thread(fault_pg.restart, 2.0))
        while not restart.done():
            answers += await ask(http, headers, task_id)
            await asyncio.sleep(0.05)
        await restart
        back_at = time.monotonic()
        # After PostgreSQL is back: every read succeeds again, soon.
        deadline = back_at + 30
        while True:
            round_ = await ask(http, headers, task_id)
            answers += round_
            if all(ok(a) for a in round_):
                break
            assert time.monotonic() < deadline, [a for a in round_ if not ok(a)]
            await asyncio.sleep(0.1)
        recovered_in = time.monotonic() - back_at
        assert api.alive and api.pid == pid  # the same process, never restarted

    counts = await fault_counts(
        fault_settings.database_url,
        "PostgreSQL restarted while the API serves",
        [task_id],
        len(answers),
    )
    statuses = [a.status for a in answers]
    unavailable = [a for a in answers if a.status == 503]
    graphql_codes = {
        error.get("extensions", {}).get("code")
        for a in answers
        if a.path == "/graphql" and isinstance(a.body, dict)
        for error in a.body.get("errors") or []
    }
    counts.report(
        http_503=len(unavailable),
        http_500=statuses.count(500),
        graphql_codes=sorted(c for c in graphql_codes if c),
        recovered_s=round(recovered_in, 2),
    )
    assert 500 not in statuses
    assert set(statuses) <= {200, 503}, statuses
    assert unavailable, "the outage was never seen: no request ran while PostgreSQL was down"
    assert all(a.body == {"detail": DATABASE_UNAVAILABLE} for a in unavailable), unavailable
    assert graphql_codes <= {"UNAVAILABLE"}, graphql_codes
    counts.assert_clean()


# --- Temporal down during execute (create/pause/…: tests/tasks/test_scheduler_down.py)


async def test_execute_with_temporal_down_is_503_and_leaves_no_execution(
    settings, make_account, database_url, doomed_temporal
):
    from tests.faults.execution_fault_harness import query

    async with api_on_own_temporal(settings, doomed_temporal, make_account) as (
        http,
        account,
        task,
    ):
        task_id = task["id"]
        await doomed_temporal.shutdown()
        attempts = 3
        for _ in range(attempts):
            response = await http.post(f"/api/v1/tasks/{task_id}/execute", headers=account.headers)
            assert response.status_code == 503, response.text
            assert response.json() == {"detail": "Scheduler unavailable, nothing was changed"}
    rows = query(database_url, "SELECT count(*) FROM executions WHERE task_id = %s", task_id)
    counts = await fault_counts(database_url, "Temporal down during execute", [task_id], attempts)
    counts.report(execution_rows=rows[0][0])
    assert rows[0][0] == 0  # nothing was changed
    counts.assert_clean()
