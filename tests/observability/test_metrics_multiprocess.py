"""Several processes record, one `/metrics` adds them up (prometheus multiprocess mode)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.observability.metrics_helpers import parse
from torale.observability import metrics
from torale.observability.multiprocess import MULTIPROC_ENV, multiprocess_env

ROOT = Path(__file__).resolve().parents[2]

RECORD = """
from torale.observability import metrics
metrics.observe_execution("success", 2.0)
metrics.observe_delivery_attempt("webhook", "retry", 2)
metrics.observe_repairs(["created"])
"""


def _record_in_child(directory: Path) -> None:
    env = {MULTIPROC_ENV: str(directory), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", RECORD], env=env, cwd=ROOT, check=True, timeout=60)


def test_values_of_every_process_are_summed(tmp_path, monkeypatch):
    directory = tmp_path / "metrics"
    directory.mkdir()
    # Two processes, as the Temporal and the Dramatiq worker would be.
    _record_in_child(directory)
    _record_in_child(directory)
    assert len(list(directory.glob("*.db"))) >= 2  # one file per process and kind

    monkeypatch.setenv(MULTIPROC_ENV, str(directory))
    samples = parse(metrics.render(None).decode())
    assert samples['torale_executions_total{status="success"}'] == 2
    assert samples['torale_execution_duration_seconds_sum{status="success"}'] == 4.0
    assert samples['torale_delivery_attempts_total{channel="webhook",outcome="retry"}'] == 2
    assert samples['torale_delivery_retries_total{channel="webhook"}'] == 2
    assert samples['torale_reconciler_repairs_total{kind="created"}'] == 2


def test_torale_dev_gives_its_children_a_fresh_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    env = multiprocess_env(tmp_path)
    directory = Path(env[MULTIPROC_ENV])
    assert directory == tmp_path.absolute() / "metrics" and directory.is_dir()
    (directory / "counter_123.db").write_bytes(b"left by an earlier run")
    multiprocess_env(tmp_path)
    assert list(directory.iterdir()) == []

    monkeypatch.setenv(MULTIPROC_ENV, "/srv/metrics")
    assert multiprocess_env(tmp_path) == {MULTIPROC_ENV: "/srv/metrics"}
