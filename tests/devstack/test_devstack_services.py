"""How a `torale` command finds its services: env, a running `torale dev`, or its own."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import psutil
import pytest
import redis

from torale.devstack.errors import DevStackError
from torale.devstack.process import pid_is_running, port_answers
from torale.devstack.services import resolve_services, stop_recorded_servers

ENV_ALL = {
    "DATABASE_URL": "postgresql://db.example:5432/torale",
    "REDIS_URL": "redis://cache.example:6379/0",
    "TEMPORAL_ADDRESS": "temporal.example:7233",
}


def _state(data_dir):
    return json.loads((data_dir / "services.json").read_text())


def test_environment_variables_win_and_the_data_dir_is_not_touched(workdir):
    blocker = workdir / "file.txt"
    blocker.write_text("")
    with resolve_services(blocker / "data", ENV_ALL) as services:
        assert services.database_url == ENV_ALL["DATABASE_URL"]
        assert services.redis_url == ENV_ALL["REDIS_URL"]
        assert services.temporal_address == ENV_ALL["TEMPORAL_ADDRESS"]
        assert services.temporal_ui_url is None
        assert services.external == {"postgres", "redis", "temporal"}
        assert services.started == set()


def test_a_second_resolver_reuses_the_recorded_servers_instead_of_starting_new_ones(workdir):
    first = resolve_services(workdir, {})
    try:
        assert first.started == {"postgres", "redis", "temporal"}
        recorded = _state(workdir)
        assert recorded["redis"]["url"] == first.redis_url
        assert recorded["temporal"]["ui_url"] == first.temporal_ui_url
        pids = {name: recorded[name]["pid"] for name in recorded}

        with resolve_services(workdir, {}) as second:
            assert second.started == set()
            assert second.reused == {"postgres", "redis", "temporal"}
            assert second.database_url == first.database_url
            assert second.redis_url == first.redis_url
            assert second.temporal_address == first.temporal_address
            assert second.temporal_ui_url == first.temporal_ui_url
        # Closing the borrower leaves the owner's servers running.
        assert all(pid_is_running(pid) for pid in pids.values())
        assert redis.Redis.from_url(first.redis_url).ping()
    finally:
        first.close()
    assert not any(pid_is_running(pid) for pid in pids.values())
    assert _state(workdir) == {}


def test_env_and_embedded_mix_per_service(workdir):
    env = {"DATABASE_URL": ENV_ALL["DATABASE_URL"], "TEMPORAL_ADDRESS": "t.example:7233"}
    with resolve_services(workdir, env) as services:
        assert services.database_url == ENV_ALL["DATABASE_URL"]
        assert services.started == {"redis"}
        assert services.external == {"postgres", "temporal"}
        assert redis.Redis.from_url(services.redis_url).ping()
        assert services.as_env() == {**env, "REDIS_URL": services.redis_url}
    assert not (workdir / "postgres").exists()


def test_servers_of_a_killed_recorder_are_adopted_and_stopped_on_close(workdir):
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from torale.devstack.services import resolve_services
        services = resolve_services(Path({str(workdir)!r}), {{}}, services=["redis"])
        print(services.redis_url, flush=True)
        time.sleep(60)
        """
    )
    recorder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    url = recorder.stdout.readline().strip()
    recorder.kill()
    recorder.wait()
    recorder.stdout.close()
    redis_pid = _state(workdir)["redis"]["pid"]
    assert pid_is_running(redis_pid)

    with resolve_services(workdir, {}, services=["redis"]) as services:
        assert services.adopted == {"redis"}
        assert services.redis_url == url
        assert services.database_url is None and services.temporal_address is None
    assert not pid_is_running(redis_pid)


def test_stop_recorded_servers_stops_what_a_killed_recorder_left(workdir):
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from torale.devstack.services import resolve_services
        resolve_services(Path({str(workdir)!r}), {{}}, services=["redis"])
        print("up", flush=True)
        time.sleep(60)
        """
    )
    recorder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert recorder.stdout.readline().strip() == "up"
    recorder.kill()
    recorder.wait()
    recorder.stdout.close()
    redis_pid = _state(workdir)["redis"]["pid"]
    assert pid_is_running(redis_pid)

    stop_recorded_servers(workdir)
    assert not pid_is_running(redis_pid)
    assert "redis" not in _state(workdir)
    stop_recorded_servers(workdir / "never-used")  # nothing recorded: nothing to do


def test_a_dead_recorded_server_is_replaced(workdir):
    with resolve_services(workdir, {}, services=["redis"]) as first:
        redis.Redis.from_url(first.redis_url).set("k", "v")
        old_pid = _state(workdir)["redis"]["pid"]
        # Simulates a server that died behind our back.
        psutil.Process(old_pid).kill()
        psutil.Process(old_pid).wait(5)
        with resolve_services(workdir, {}, services=["redis"]) as second:
            assert second.started == {"redis"}
            assert _state(workdir)["redis"]["pid"] != old_pid
            # Same data dir: the append-only file brought the key back.
            assert redis.Redis.from_url(second.redis_url).get("k") == b"v"


def test_start_missing_false_names_the_variable_to_set(workdir):
    with pytest.raises(DevStackError, match="DATABASE_URL"):
        resolve_services(workdir, {}, services=["postgres"], start_missing=False)
    assert not (workdir / "postgres").exists()


def test_a_busy_port_fails_cleanly_and_stops_what_was_already_started(workdir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        with pytest.raises(DevStackError, match=f"port {port} "):
            resolve_services(workdir, {}, services=["postgres", "redis"], ports={"redis": port})
    leftover = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not any(pid_is_running(pid) for pid in leftover)
    assert _state(workdir) == {}


def test_an_unwritable_data_dir_is_a_one_line_error_naming_it(workdir):
    blocker = workdir / "file.txt"
    blocker.write_text("")
    with pytest.raises(DevStackError) as caught:
        resolve_services(blocker / "data", {"DATABASE_URL": ENV_ALL["DATABASE_URL"]})
    assert str(blocker / "data") in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_recorded_pid_whose_port_is_silent_is_not_reused(workdir):
    # A stale record: our own (live) pid, but nothing listens on its port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        silent_port = sock.getsockname()[1]
    assert not port_answers(silent_port)
    (workdir / "services.json").write_text(
        json.dumps({"redis": {"url": "redis://nowhere", "pid": 1, "port": silent_port}})
    )
    with resolve_services(workdir, {}, services=["redis"]) as services:
        assert services.started == {"redis"}
        assert services.redis_url != "redis://nowhere"
