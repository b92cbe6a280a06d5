"""Probes: `/health` says the process is alive; `/ready` that its dependencies answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, Request
from sqlalchemy import text

from torale.http.responses import JSONBody
from torale.runtime import Resources

router = APIRouter(tags=["probes"])

CHECK_TIMEOUT_SECONDS = 3.0


async def _postgres(res: Resources) -> None:
    async with res.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _redis(res: Resources) -> None:
    # redis-py declares its commands once for both clients (`Awaitable[bool] | bool`);
    # on the asyncio client, ping is awaitable.
    await cast(Awaitable[bool], res.redis.ping())


async def _temporal(res: Resources) -> None:
    client = await res.temporal.client()
    await client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS))


CHECKS: dict[str, Callable[[Resources], Awaitable[None]]] = {
    "postgres": _postgres,
    "redis": _redis,
    "temporal": _temporal,
}


async def _check(name: str, res: Resources) -> tuple[str, bool]:
    try:
        await asyncio.wait_for(CHECKS[name](res), CHECK_TIMEOUT_SECONDS)
    except Exception:
        return name, False
    return name, True


def _supervisor_status(path: Path | None) -> dict[str, Any] | None:
    """Restart counts written by `torale dev`'s supervisor, when it runs this process."""
    if path is None:
        return None
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


@router.get("/health", summary="Liveness: the process answers")
async def health() -> JSONBody:
    return JSONBody({"status": "ok"})


@router.get("/ready", summary="Readiness: PostgreSQL, Redis and Temporal answer")
async def ready(request: Request) -> JSONBody:
    res: Resources = request.app.state.resources
    results = dict(await asyncio.gather(*(_check(name, res) for name in CHECKS)))
    checks = {name: "ok" if up else "down" for name, up in results.items()}
    down = [name for name, up in results.items() if not up]
    supervisor = _supervisor_status(res.settings.supervisor_status_file)
    extra = {"supervisor": supervisor} if supervisor is not None else {}
    if down:
        return JSONBody(
            {"detail": f"Not ready: {', '.join(down)} unreachable", "checks": checks, **extra},
            status_code=503,
        )
    return JSONBody({"status": "ready", "checks": checks, **extra})
