"""A Temporal worker in its own process, so a test can kill it with SIGKILL.

Settings come from the environment (the test passes the stack's); the tuning is the
tests' FAST one. No workflow cache: a dead worker's sticky queue would otherwise
hold the workflow's next task until the sticky timeout.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from temporalio.client import Client

from tests.executions.execution_helpers import FAST, start_worker
from torale.config import Settings
from torale.db import create_engine, session_factory


class _Resources:
    def __init__(self, settings: Settings) -> None:
        self.session_factory = session_factory(create_engine(settings))


async def main() -> None:
    settings = Settings()
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    worker = start_worker(settings, _Resources(settings), client, FAST, max_cached_workflows=0)
    print("worker ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
