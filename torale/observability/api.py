"""What the API process adds for metrics and traces: one call at build, one in lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from torale.config import Settings
from torale.observability import tracing
from torale.observability.metrics_http import install_metrics, metrics_listener
from torale.runtime import Resources


def install_observability(app: FastAPI, settings: Settings) -> None:
    # Tracing first (when configured): engines and clients made later are instrumented.
    tracing.setup("torale-api")
    tracing.instrument_app(app)
    install_metrics(app, settings)


@contextlib.asynccontextmanager
async def observability_lifespan(app: FastAPI, res: Resources) -> AsyncIterator[None]:
    """Runs the metrics port's listener (when configured) for the app's lifetime."""
    async with metrics_listener(res) as server:
        app.state.metrics_server = server
        yield
