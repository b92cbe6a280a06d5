"""The real processes' stderr: JSON lines when asked, no access log by default, and a
Ctrl-C that stops quietly (no click "Aborted!", no traceback)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

TORALE = (sys.executable, "-m", "torale")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TORALE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "TORALE_LOG_FORMAT": "json",
        **extra,
    }


def _wait_for(condition, what: str, process: subprocess.Popen, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before {what}")
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {within:g}s")


def _interrupt(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _run_and_interrupt(
    args: list[str],
    env: dict[str, str],
    stderr: Path,
    ready: Callable[[], bool],
    what: str,
    while_running: Callable[[], None] = lambda: None,
) -> str:
    """Start `torale ARGS`, wait until `ready`, Ctrl-C it: it must exit 0 without a click
    "Aborted!" or a traceback. Its stderr."""
    with stderr.open("w") as err:
        process = subprocess.Popen([*TORALE, *args], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        _wait_for(ready, what, process)
        while_running()
        assert _interrupt(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = stderr.read_text()
    assert "Aborted!" not in text and "Traceback" not in text
    return text


def test_api_logs_json_without_access_log_and_stops_quietly(settings, tmp_path: Path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def refused_key() -> None:
        bad_key = {"Authorization": "Bearer sk_not_a_real_key_at_all"}
        assert httpx.get(f"{base}/api/v1/tasks", headers=bad_key).status_code == 401

    text = _run_and_interrupt(
        ["api", "--port", str(port), "--data-dir", str(tmp_path)],
        _env(settings),
        tmp_path / "api.err",
        healthy,
        "/health",
        while_running=refused_key,
    )
    entries = _json_lines(text)  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any("Uvicorn running" in e["message"] for e in entries)
    (refusal,) = [e for e in entries if e["logger"] == "torale.http.client_errors"]
    assert refusal["status"] == 401 and "traceback" not in refusal
    # No access log by default: neither uvicorn's nor ours.
    assert not [e for e in entries if e["logger"] in ("uvicorn.access", "torale.access")]
    assert not [e for e in entries if "/health" in e["message"]]


def test_temporal_worker_logs_json_and_stops_quietly_on_ctrl_c(settings, tmp_path: Path):
    stderr = tmp_path / "worker.err"
    queue = f"test-quiet-{uuid.uuid4().hex[:8]}"
    text = _run_and_interrupt(
        ["worker", "temporal", "--data-dir", str(tmp_path)],
        _env(settings, TORALE_TEMPORAL_TASK_QUEUE=queue),
        stderr,
        lambda: "polling task queue" in stderr.read_text(),
        "polling",
    )
    messages = [e["message"] for e in _json_lines(text)]
    assert f"Temporal worker polling task queue {queue}" in messages
    assert messages[-1] == "Temporal worker stopped"


def test_temporal_worker_leaves_without_interpreter_finalization(settings, tmp_path: Path):
    """Finalizing beside the Temporal SDK's Rust threads can abort the process
    (workers.temporal_worker.exit_without_finalizing): after a clean Ctrl-C the worker
    exits 0 without running exit hooks, the part of finalization that is observable."""
    site = tmp_path / "site"
    site.mkdir()
    marker = tmp_path / "finalized"
    (site / "sitecustomize.py").write_text(
        f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).touch)\n"
    )
    stderr = tmp_path / "worker.err"
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    text = _run_and_interrupt(
        ["worker", "temporal", "--data-dir", str(tmp_path)],
        _env(
            settings,
            TORALE_TEMPORAL_TASK_QUEUE=f"test-quiet-{uuid.uuid4().hex[:8]}",
            PYTHONPATH=path,
        ),
        stderr,
        lambda: "polling task queue" in stderr.read_text(),
        "polling",
    )
    assert _json_lines(text)[-1]["message"] == "Temporal worker stopped"
    assert not marker.exists()


def test_dramatiq_worker_logs_json_from_every_process(settings, tmp_path: Path):
    stderr = tmp_path / "dramatiq.err"
    namespace = f"test-quiet-{uuid.uuid4().hex[:8]}"
    text = _run_and_interrupt(
        ["worker", "dramatiq", "--threads", "1", "--data-dir", str(tmp_path)],
        _env(settings, TORALE_DRAMATIQ_NAMESPACE=namespace),
        stderr,
        lambda: "ready for action" in stderr.read_text(),
        "a ready worker",
    )
    loggers = {e["logger"] for e in _json_lines(text)}
    assert "dramatiq.MainProcess" in loggers and "dramatiq.WorkerProcess(0)" in loggers
