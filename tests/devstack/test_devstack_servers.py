"""Each embedded server for real: start, talk its protocol, keep data across restarts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleState,
)

from torale.devstack.errors import DevStackError
from torale.devstack.postgres import EmbeddedPostgres
from torale.devstack.redis import EmbeddedRedis
from torale.devstack.server import EmbeddedServer
from torale.devstack.temporal import EmbeddedTemporal


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@contextlib.contextmanager
def _serving(server: EmbeddedServer) -> Iterator[str]:
    """`server` started (its URL or address); stopped on the way out, its process gone."""
    url = server.start()
    try:
        yield url
    finally:
        pid = server.pid
        server.stop()
    assert pid is not None and _gone(pid)


async def _fetch_notes(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [row["body"] for row in await conn.fetch("SELECT body FROM notes ORDER BY body")]
    finally:
        await conn.close()


async def test_postgres_serves_the_torale_database_and_keeps_rows_across_restarts(workdir):
    pg = EmbeddedPostgres(workdir / "pg")
    with _serving(pg) as url:
        assert url == f"postgresql://postgres@127.0.0.1:{pg.port}/torale"
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT current_database()") == "torale"
        await conn.execute("CREATE TABLE notes (body text)")
        await conn.execute("INSERT INTO notes VALUES ('kept')")
        await conn.close()

    with _serving(pg) as url:
        assert await _fetch_notes(url) == ["kept"]


async def test_postgres_restarts_after_a_kill_left_a_pid_file_naming_a_live_process(workdir):
    pg = EmbeddedPostgres(workdir / "pg")
    url = pg.start()
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE notes (body text)")
    await conn.execute("INSERT INTO notes VALUES ('survives')")
    await conn.close()
    postmaster = psutil.Process(pg.pid)
    family = [postmaster, *postmaster.children(recursive=True)]
    postmaster.kill()
    psutil.wait_procs(family, timeout=10)
    pg._proc.wait()
    pg._proc = None

    # After a crash the pid in the file may belong to an unrelated process by now.
    # PostgreSQL only trusts pids it may signal, i.e. of its own user: use one of those.
    pid_file = pg.pgdata / "postmaster.pid"
    unrelated = subprocess.Popen(["sleep", "60"], **pg._popen_kwargs())  # noqa: ASYNC220
    try:
        lines = pid_file.read_text().split("\n")
        pid_file.write_text("\n".join([str(unrelated.pid), *lines[1:]]))
        url = pg.start()
        try:
            assert await _fetch_notes(url) == ["survives"]
        finally:
            pg.stop()
    finally:
        unrelated.kill()
        unrelated.wait()


def test_postgres_refuses_a_second_server_on_the_same_data_dir(workdir):
    first = EmbeddedPostgres(workdir / "pg")
    first.start()
    try:
        with pytest.raises(DevStackError, match="already running"):
            EmbeddedPostgres(workdir / "pg").start()
        assert first.running
    finally:
        first.stop()


def test_redis_answers_and_keeps_keys_across_restarts(workdir):
    server = EmbeddedRedis(workdir / "redis")
    with _serving(server) as url:
        assert url == f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(url)
        assert client.ping() is True
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        client.close()

    with _serving(server) as url:
        client = redis.Redis.from_url(url)
        assert client.get("greeting") == b"hello"
        client.close()


async def test_temporal_serves_the_default_namespace_and_keeps_schedules(workdir):
    server = EmbeddedTemporal(workdir / "temporal")
    schedule_id = f"persisted-{uuid.uuid4()}"
    with _serving(server) as address:
        assert address == f"127.0.0.1:{server.port}"
        assert server.ui_url == f"http://127.0.0.1:{server.ui_port}"
        client = await Client.connect(address)
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow("CheckTask", id="check", task_queue="nowhere"),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
                state=ScheduleState(paused=True),
            ),
        )
    assert (workdir / "temporal" / "temporal.db").is_file()

    with _serving(server) as address:
        client = await Client.connect(address)
        description = await client.get_schedule_handle(schedule_id).describe()
        assert description.schedule.state.paused is True


def test_a_port_in_use_is_a_one_line_error_naming_it(workdir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(DevStackError) as caught:
            EmbeddedRedis(workdir / "redis", port=port).start()
    assert str(port) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_data_dir_that_cannot_be_created_is_a_one_line_error_naming_it(workdir):
    # Root ignores permission bits, but nobody can make a directory inside a file.
    blocker = workdir / "file.txt"
    blocker.write_text("not a directory")
    target = blocker / "sub"
    with pytest.raises(DevStackError) as caught:
        EmbeddedPostgres(target).start()
    assert str(target) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_server_that_dies_while_starting_reports_its_log(workdir, monkeypatch):
    server = EmbeddedRedis(workdir / "redis")
    real_argv = server._argv
    monkeypatch.setattr(server, "_argv", lambda: [*real_argv(), "--no-such-option", "1"])
    with pytest.raises(DevStackError, match="Redis exited with code") as caught:
        server.start()
    assert "no-such-option" in str(caught.value)
    assert not server.running


def test_stop_kills_a_server_that_ignores_its_stop_signal(workdir, monkeypatch):
    server = EmbeddedRedis(workdir / "redis")
    server.start()
    pid = server.pid
    # Freeze it: a stopped process cannot act on SIGTERM.
    os.kill(pid, signal.SIGSTOP)
    monkeypatch.setattr(EmbeddedRedis, "stop_timeout", 0.5)
    started = time.monotonic()
    server.stop()
    assert _gone(pid)
    assert time.monotonic() - started < 5


def test_missing_data_dir_parents_are_created(workdir):
    server = EmbeddedRedis(Path(workdir) / "a" / "b" / "redis")
    server.start()
    try:
        assert (workdir / "a" / "b" / "redis" / "redis.log").is_file()
    finally:
        server.stop()
