"""`make bench` keeps working: the socket harness runs briefly and prints its ratios.

Not a measurement (a second per target on a shared machine means nothing); it only
proves the servers start, the page is served by all three and the report is printed.
The Python load generator is used, so the fallback for machines without wrk is covered.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def test_bench_harness_prints_the_ratios(database_url, service_urls):
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": service_urls.redis_url}
    argv = [sys.executable, str(BENCH), "--rounds", "1", "--seconds", "1", "--warmup", "0"]
    argv += ["--connections", "2", "--tasks", "25", "--import-runs", "0", "--no-log-target"]
    argv += ["--loadgen", "python"]
    # The deployed-RSS probe's path (`make bench` passes a runtime-only venv's Python).
    argv += ["--deployed-python", sys.executable]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in (
        "| bare Starlette + asyncpg |",
        "| torale REST `GET /api/v1/tasks` |",
        "| torale `GET /graphql`, same page |",
        "REST / bare throughput:",
        "GraphQL / REST throughput:",
        "REST p99 / bare p99:",
        "idle RSS: torale api",
        # Started as the image starts the API (infra/Dockerfile CMD).
        "MiB as deployed (target <= 100; python -OO, runtime dependencies only)",
    ):
        assert line in out, out
