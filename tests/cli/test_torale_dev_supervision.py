"""`torale dev` brings back what dies: its API child and its embedded Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx
import psutil

from torale.devstack.process import free_port


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


def test_a_killed_api_and_a_killed_embedded_redis_come_back(settings, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TORALE_TEMPORAL_TASK_QUEUE": f"supervision-{os.getpid()}",
    }
    env.pop("REDIS_URL", None)  # embedded: this `torale dev` owns it
    data_dir = str(tmp_path / "data")
    dev = subprocess.Popen(
        [sys.executable, "-m", "torale", "dev", *("--port", str(port)), "--data-dir", data_dir],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(dev.stderr), daemon=True)
    reader.start()
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

        family = psutil.Process(dev.pid).children(recursive=True)
        sent = time.monotonic()
        dev.send_signal(signal.SIGTERM)
        assert dev.wait(timeout=10) == 0
        assert time.monotonic() - sent < 10
        _gone, alive = psutil.wait_procs(family, timeout=5)
        assert alive == []
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
