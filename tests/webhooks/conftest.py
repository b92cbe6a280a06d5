from __future__ import annotations

from collections.abc import Iterator

import pytest

# Fixtures for every module here.
from fanout_fixtures import (  # noqa: F401
    api_producer,
    db,
    fanout_settings,
    producer,
    test_broker,
)
from webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec
