"""Services and processes the execution fault cases break on purpose.

A PostgreSQL of the module's own (embedded, like `torale dev` runs it) that a case may
stop and start again on the same port, never the machine's or the session's; the real
`torale api` and `torale worker temporal` commands run as child processes, so a case
can SIGKILL them; and the counts every case reports (attempts, lost, duplicated, stuck).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from temporalio.client import Client

from torale.db import migrate
from torale.devstack.postgres import EmbeddedPostgres
from torale.devstack.process import log_tail

REPO = Path(__file__).resolve().parents[2]
IN_PROGRESS = ("pending", "running")


class PrivatePostgres:
    """An embedded PostgreSQL a test may restart; its clients keep the same URL."""

    def __init__(self) -> None:
        # Outside pytest's basetemp: as root, PostgreSQL runs as another user and must
        # traverse the parents of its data dir (see tests/devstack/conftest.py).
        self.root = Path(tempfile.mkdtemp(prefix="torale-faults-"))
        self.server = EmbeddedPostgres(self.root / "postgres")
        self.url = ""

    def start(self) -> str:
        self.url = self.server.start()
        # Every later start reuses the port, so clients reconnect to the same address.
        self.server.requested_port = self.server.port
        return self.url

    def stop(self) -> None:
        self.server.stop()

    def restart(self, down_seconds: float = 0.0) -> None:
        """Fast shutdown (every session terminated), stay down, start again."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        pg.start()
        migrate(pg.url)
        yield pg
    finally:
        pg.close()


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(sql, params).fetchall()


async def query_when_up(url: str, sql: str, *params: Any, within: float = 60.0) -> list[tuple]:
    """`query`, waiting for a PostgreSQL that is (re)starting."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await asyncio.to_thread(query, url, sql, *params)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# --- the real commands as child processes


class ToraleProcess:
    """`python -m torale <args>` with the given environment, output kept in a log."""

    def __init__(self, args: list[str], env: dict[str, str], log_dir: Path, name: str) -> None:
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> ToraleProcess:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "torale",
                *self.args,
                env=self.env,
                cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye to Temporal or PostgreSQL."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), timeout=10)

    async def stop(self) -> None:
        if not self.alive:
            return
        assert self.process is not None
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=10)
        except TimeoutError:
            await self.kill()

    def log(self) -> str:
        return log_tail(self.log_path)


def process_env(settings: Any, **extra: str) -> dict[str, str]:
    """What `torale` commands read, from the test's settings (services all configured,
    so no command starts embedded servers of its own)."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TORALE_ENVIRONMENT": "test",
        "TORALE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "TORALE_TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "TORALE_DRAMATIQ_NAMESPACE": settings.dramatiq_namespace,
        "TORALE_ALLOW_PRIVATE_URLS": "true",
    }
    for name, value in (
        ("TORALE_LLM_BASE_URL", settings.llm_base_url),
        ("TORALE_LLM_MODEL", settings.llm_model),
        ("TORALE_LLM_API_KEY", settings.llm_api_key),
        ("TORALE_SEARXNG_URL", settings.searxng_url),
    ):
        if value:
            env[name] = value
    env.update(extra)
    return env


# --- what every case reports


@dataclass(frozen=True)
class FaultCounts:
    case: str
    attempts: int  # activity attempts (executions) or requests (API)
    lost: int  # condition met and due, but no delivery recorded
    duplicated: int  # one execution's condition_met recorded twice for one target
    stuck: int  # executions still pending/running once the case is over

    def report(self, **extra: Any) -> None:
        details = "".join(f" | {name}={value}" for name, value in extra.items())
        print(
            f"\nFAULT CASE | {self.case} | attempts={self.attempts} | lost={self.lost} "
            f"| duplicated={self.duplicated} | stuck={self.stuck}{details}",
            flush=True,
        )

    def assert_clean(self) -> None:
        assert (self.lost, self.duplicated, self.stuck) == (0, 0, 0), self


async def fault_counts(url: str, case: str, task_ids: list[str], attempts: int) -> FaultCounts:
    stuck = await query_when_up(
        url,
        "SELECT count(*) FROM executions WHERE task_id = ANY(%s::uuid[]) AND status = ANY(%s)",
        task_ids,
        list(IN_PROGRESS),
    )
    duplicated = await query_when_up(
        url,
        "SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE task_id = ANY(%s::uuid[]) "
        "AND event_type = 'condition_met' GROUP BY execution_id, target "
        "HAVING count(*) > 1) AS repeated",
        task_ids,
    )
    lost = await query_when_up(
        url,
        "SELECT count(*) FROM executions e WHERE e.task_id = ANY(%s::uuid[]) "
        "AND e.status = 'success' AND e.notification_due "
        "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.execution_id = e.id)",
        task_ids,
    )
    return FaultCounts(case, attempts, lost[0][0], duplicated[0][0], stuck[0][0])


async def activity_attempts(client: Client, workflow_id: str) -> dict[str, int]:
    """Attempts each activity of a workflow started (from its history)."""
    names: dict[int, str] = {}
    attempts: dict[str, int] = {}
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled = event.activity_task_scheduled_event_attributes
            names[event.event_id] = scheduled.activity_type.name
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            name = names[started.scheduled_event_id]
            attempts[name] = attempts.get(name, 0) + started.attempt
    return attempts


async def heartbeat_timeouts(client: Client, workflow_id: str) -> dict[str, float]:
    """The heartbeat timeout each activity of a workflow was scheduled with (seconds)."""
    timeouts: dict[str, float] = {}
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled = event.activity_task_scheduled_event_attributes
            timeouts[scheduled.activity_type.name] = (
                scheduled.heartbeat_timeout.ToTimedelta().total_seconds()
            )
    return timeouts
