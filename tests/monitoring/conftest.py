from __future__ import annotations

from collections.abc import Iterator

import pytest
from monitoring_peer import ScriptedServer


@pytest.fixture
def peer() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()
