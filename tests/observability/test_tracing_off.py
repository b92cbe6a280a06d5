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


NATIVE_PROGRAM = """
import asyncio, json
import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from torale.config import Settings
from torale.app import create_app

# Some other library of the process installs a global provider.
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

async def main():
    app = create_app(Settings(environment="test"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        status = (await client.get("/health")).status_code
    print(json.dumps({"status": status, "spans": [s.name for s in exporter.get_finished_spans()]}))

asyncio.run(main())
"""


def test_fastapis_native_telemetry_stays_off_even_with_a_global_provider():
    # Traces are ours (tracing.setup, its own provider); FastAPI's native telemetry
    # would add a second server span per request, and asking whether it should costs
    # every request a look at OpenTelemetry's global providers.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", NATIVE_PROGRAM],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"status": 200, "spans": []}
