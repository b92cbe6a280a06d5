"""`torale api` freezes what start-up built, so full collections skip it, and collects
young objects less often (`torale.gc_policy`)."""

from __future__ import annotations

import gc
import socket
import weakref

import uvicorn
from click.testing import CliRunner

from torale.cli import main
from torale.gc_policy import SERVING_THRESHOLDS, collect_less_often, freeze_startup_objects


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_start_up_garbage_is_collected_then_the_rest_frozen():
    garbage = _Cycle()
    gone = weakref.ref(garbage)
    del garbage
    try:
        frozen = freeze_startup_objects()
        # Collected before freezing, not kept forever in the permanent generation.
        assert gone() is None
        assert frozen == gc.get_freeze_count() > 0
        # What requests allocate later is collected as usual.
        later = _Cycle()
        collected_later = weakref.ref(later)
        del later
        gc.collect()
        assert collected_later() is None
    finally:
        gc.unfreeze()


def test_serving_thresholds_replace_the_defaults():
    previous = gc.get_threshold()
    try:
        assert collect_less_often() == previous
        assert gc.get_threshold() == SERVING_THRESHOLDS
        assert SERVING_THRESHOLDS[0] > previous[0]
    finally:
        gc.set_threshold(*previous)


def test_torale_api_serves_frozen_and_with_the_serving_thresholds(monkeypatch, tmp_path):
    """What the collector looks like when uvicorn takes over (uvicorn itself is replaced
    by a recorder: the state is what matters, not the serving)."""
    seen: list[tuple[tuple[int, int, int], int]] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda *a, **k: seen.append((gc.get_threshold(), gc.get_freeze_count()))
    )
    env = {
        "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1",
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "TORALE_SECRET_KEY": "test-only-secret-key-that-seals-webhook-secrets",
    }
    previous = gc.get_threshold()
    try:
        port = str(_free_port())
        result = CliRunner().invoke(
            main, ["api", "--port", port, "--data-dir", str(tmp_path)], env=env
        )
        assert result.exit_code == 0, result.output
        ((thresholds, frozen),) = seen
        assert thresholds == SERVING_THRESHOLDS and frozen > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*previous)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
