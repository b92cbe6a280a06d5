"""Without OTEL_EXPORTER_OTLP_ENDPOINT tracing is off and costs nothing: the SDK's
tracing, the instrumentations and Temporal's tracing interceptor are not even imported.
(redis-py itself imports the SDK's metrics module when the SDK is installed: that is
why the SDK is the `tracing` extra, not a dependency.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json, sys
from torale.config import Settings
from torale.app import create_app
from torale.observability import tracing
from torale.webhooks import queue
import workers.temporal_worker

app = create_app(Settings(environment="test"))
broker = queue.build_broker("redis://127.0.0.1:1/0")
loaded = sorted(
    m for m in sys.modules
    if m.startswith(("opentelemetry.sdk.trace", "opentelemetry.instrumentation",
                     "opentelemetry.exporter", "temporalio.contrib.opentelemetry",
                     "torale.observability.dramatiq_tracing"))
)
print(json.dumps({
    "enabled": tracing.enabled(),
    "loaded": loaded,
    "interceptors": len(tracing.temporal_interceptors()),
    "middleware": [type(m).__name__ for m in broker.middleware],
}))
"""


def _start(**env: str) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.Popen(
        [sys.executable, "-c", PROGRAM],
        env={**base, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def runs() -> dict[str, dict]:
    """Both programs at once (each imports the whole app: seconds of CPU)."""
    started = {
        "off": _start(),
        # Nothing listens there: spans are batched and dropped, the program still runs.
        "on": _start(
            OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_BSP_SCHEDULE_DELAY="60000"
        ),
    }
    results = {}
    for name, process in started.items():
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


def test_nothing_is_loaded_or_installed_without_an_endpoint(runs):
    off = runs["off"]
    assert off == {
        "enabled": False,
        "loaded": [],
        "interceptors": 0,
        "middleware": off["middleware"],
    }
    assert "TraceContextMiddleware" not in off["middleware"]


def test_an_endpoint_turns_it_on(runs):
    on = runs["on"]
    assert on["enabled"] is True and on["interceptors"] == 1
    assert "TraceContextMiddleware" in on["middleware"]
    assert "opentelemetry.sdk.trace" in on["loaded"]
