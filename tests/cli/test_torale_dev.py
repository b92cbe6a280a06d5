"""`torale dev` as a user runs it: one command, the curl flow, a clean stop."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from torale.devstack.process import free_port


def _env(settings, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        TEMPORAL_ADDRESS=settings.temporal_address,
        TORALE_DATA_DIR=str(data_dir),
        TORALE_TEMPORAL_TASK_QUEUE=f"cli-test-{os.getpid()}",
    )
    return env


def _read_until(proc: subprocess.Popen, marker: str, timeout: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(marker):
            return lines
    raise AssertionError(f"no {marker!r} line; got {lines}")


def test_dev_runs_the_stack_and_stops_everything(settings, tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "torale", "dev", "--port", str(port), "--data-dir", str(data_dir)],
        env=_env(settings, data_dir),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _read_until(proc, "Admin API key")
        assert f"API: http://127.0.0.1:{port}" in lines
        key_file = data_dir / "admin-api-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        admin_key = key_file.read_text().strip()
        assert admin_key in lines[-1]

        base = f"http://127.0.0.1:{port}"
        admin = {"Authorization": f"Bearer {admin_key}"}
        _wait_healthy(base)
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/auth/me", headers=admin).json()["role"] == "admin"
            new = http.post("/auth/api-keys", json={"name": "laptop"}, headers=admin).json()
            mine = {"Authorization": f"Bearer {new['key']}"}
            names = [k["name"] for k in http.get("/auth/api-keys", headers=mine).json()["items"]]
            assert "laptop" in names
            assert http.get("/auth/me", headers=mine).status_code == 200
            assert http.delete(f"/auth/api-keys/{new['id']}", headers=admin).status_code == 200
            assert http.get("/auth/me", headers=mine).status_code == 401

        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3  # api, temporal worker, dramatiq worker (+ its processes)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
    finally:
        if proc.poll() is None:
            proc.kill()


def _run_dev(settings, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "torale", "dev", "--data-dir", str(data_dir), *args],
        env=_env(settings, data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_port_in_use_is_one_line(settings, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run_dev(settings, tmp_path / "d", "--port", str(port))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert str(port) in line and "in use" in line


def test_unwritable_data_dir_is_one_line(tmp_path, settings):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = _env(settings, blocker / "data")
    for name in ("DATABASE_URL", "REDIS_URL", "TEMPORAL_ADDRESS"):
        env.pop(name)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torale",
            "dev",
            "--data-dir",
            str(blocker / "data"),
            "--port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert str(blocker) in line


@pytest.mark.parametrize("admin", [False, True])
def test_users_create_prints_a_working_key(settings, tmp_path, admin):
    import psycopg

    args = ["users", "create", "--email", "cli@example.com"] + (["--admin"] if admin else [])
    result = subprocess.run(
        [sys.executable, "-m", "torale", *args, "--data-dir", str(tmp_path)],
        env=_env(settings, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert key.startswith("sk_") and len(key) == 35
    with psycopg.connect(settings.database_url) as conn:
        role = conn.execute("SELECT role FROM users WHERE email = 'cli@example.com'").fetchone()[0]
    assert role == ("admin" if admin else "user")


def _start_dev(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "torale", "dev", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_healthy(base: str) -> None:
    with httpx.Client(base_url=base, timeout=5) as http:
        for _ in range(150):
            try:
                if http.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise AssertionError("the API never answered")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0


def test_a_restart_on_embedded_services_keeps_users_tasks_and_schedules(tmp_path):
    """The fresh-machine path: no service variables, everything embedded in the data dir."""
    data_dir = tmp_path / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "TEMPORAL_ADDRESS")
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    first = _start_dev(data_dir, port, env)
    try:
        _read_until(first, "Admin API key", timeout=120)
        _wait_healthy(base)
        admin = {"Authorization": f"Bearer {(data_dir / 'admin-api-key').read_text().strip()}"}
        with httpx.Client(base_url=base, timeout=10) as http:
            created = http.post(
                "/api/v1/tasks",
                headers=admin,
                json={
                    "search_query": "When is the next iPhone being released?",
                    "condition_description": "Apple has announced a specific release date",
                    "schedule": "0 9 * * *",
                },
            )
            assert created.status_code == 201, created.text
            task_id = created.json()["id"]
            secret = http.get("/api/v1/webhooks/secret", headers=admin).json()["secret"]
        _stop(first)
    finally:
        if first.poll() is None:
            first.kill()

    second = _start_dev(data_dir, port, env)
    try:
        lines = _read_until(second, "Dramatiq worker", timeout=120)
        assert not any(line.startswith("Admin API key") for line in lines)  # not a first start
        _wait_healthy(base)
        with httpx.Client(base_url=base, timeout=10) as http:
            task = http.get(f"/api/v1/tasks/{task_id}", headers=admin)
            assert task.status_code == 200 and task.json()["state"] == "active"
            # Sealed with the data dir's generated key, which the restart reuses.
            again = http.get("/api/v1/webhooks/secret", headers=admin)
            assert again.status_code == 200 and again.json()["secret"] == secret
            assert (data_dir / "secret-key").stat().st_mode & 0o777 == 0o600
            for _ in range(50):
                schedules = http.get("/admin/temporal/schedules", headers=admin).json()["items"]
                if any(s["task_id"] == task_id for s in schedules):
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"schedule of {task_id} missing after restart: {schedules}")
        _stop(second)
    finally:
        if second.poll() is None:
            second.kill()
