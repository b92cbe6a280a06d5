"""Helpers shared by the admin tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

ADMIN_REQUIRED = {"detail": "Admin access required"}


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], within: float = 10.0
) -> T:
    """Poll `probe` until `check` passes: Temporal's visibility lags writes."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if check(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)
