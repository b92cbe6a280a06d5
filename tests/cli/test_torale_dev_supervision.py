"""`torale dev` brings back what dies: its API child and its embedded Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

from tests.helpers import stops_on_sigterm
from torale.devstack.process import free_port
from torale.devstack.services import stop_recorded_servers


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _ready(http: httpx.Client) -> dict | None:
    try:
        response = http.get("/ready")
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None


def _child(dev: subprocess.Popen, matches: Callable[[psutil.Process], bool]) -> psutil.Process:
    for proc in psutil.Process(dev.pid).children(recursive=True):
        try:
            if matches(proc):
                return proc
        except psutil.Error:
            continue
    raise AssertionError("no such child")


def _is_api(proc: psutil.Process) -> bool:
    return proc.cmdline()[1:4] == ["-m", "torale", "api"]


def _is_redis(proc: psutil.Process) -> bool:
    # redis-server rewrites its command line to "path/redis-server host:port".
    return proc.name() == "redis-server"


def _start_dev(settings, data_dir: Path, port: int) -> tuple[subprocess.Popen, list[str]]:
    """A real `torale dev` owning an embedded Redis; its stderr lines collected."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TORALE_TEMPORAL_TASK_QUEUE": f"supervision-{os.getpid()}",
    }
    env.pop("REDIS_URL", None)
    dev = subprocess.Popen(
        [sys.executable, "-m", "torale", "dev", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(dev.stderr), daemon=True).start()
    return dev, stderr


def test_a_killed_api_and_a_killed_embedded_redis_come_back(settings, tmp_path):
    port = free_port()
    dev, stderr = _start_dev(settings, tmp_path / "data", port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            _wait(lambda: _ready(http) is not None, 90, "/ready")
            first = _ready(http)
            assert first["supervisor"]["processes"]["api"]["restarts"] == 0

            api = _child(dev, _is_api)
            api.kill()
            _wait(
                lambda: (
                    (_ready(http) or {}).get("supervisor") is not None
                    and _ready(http)["supervisor"]["processes"]["api"]["restarts"] == 1
                ),
                60,
                "the API back with its restart counted",
            )
            assert _child(dev, _is_api).pid != api.pid
            api_lines = [line for line in stderr if line.startswith("torale: api ")]
            assert api_lines == [
                "torale: api exited with code -9 (SIGKILL); restarting in 1.0s (restart 1)\n"
            ]

            redis_server = _child(dev, _is_redis)
            redis_server.kill()
            _wait(
                lambda: any("embedded Redis restarted (restart 1)" in line for line in stderr),
                60,
                "the Redis restart line",
            )
            _wait(lambda: _ready(http) is not None, 30, "/ready with Redis back")
            body = _ready(http)
            assert body["checks"]["redis"] == "ok"
            assert body["supervisor"]["services"]["embedded Redis"]["restarts"] == 1
            redis_lines = [line for line in stderr if "embedded Redis" in line]
            assert redis_lines == [
                "torale: embedded Redis died; restarting in 1.0s (restart 1)\n",
                "torale: embedded Redis restarted (restart 1)\n",
            ]

        stops_on_sigterm(dev, within=10)
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
            stop_recorded_servers(tmp_path / "data")  # a SIGKILL leaves them running


def test_kill_9_leaves_the_embedded_servers_for_the_next_start_to_take_over(settings, tmp_path):
    import redis

    port = free_port()
    data_dir = tmp_path / "data"
    first, _ = _start_dev(settings, data_dir, port)
    second = None
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            _wait(lambda: _ready(http) is not None, 90, "/ready")
        redis_server = _child(first, _is_redis)
        children = [p for p in psutil.Process(first.pid).children() if p.pid != redis_server.pid]
        url = json.loads((data_dir / "services.json").read_text())["redis"]["url"]
        redis.Redis.from_url(url).set("kept", "yes")

        first.kill()
        first.wait()
        # Its children go with it (parent-death signal); its embedded server stays.
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
        assert redis_server.is_running()

        second, _ = _start_dev(settings, data_dir, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            _wait(lambda: _ready(http) is not None, 90, "/ready after the takeover")
        assert redis_server.is_running()  # the same server, taken over
        assert redis.Redis.from_url(url).get("kept") == b"yes"

        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=10) == 0
        redis_server.wait(timeout=5)  # the taker stops what it took over
    finally:
        for dev in (first, second):
            if dev is not None and dev.poll() is None:
                dev.kill()
                dev.wait()
        stop_recorded_servers(data_dir)  # whatever a failed step left running
