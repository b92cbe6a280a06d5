from __future__ import annotations

from collections.abc import Iterator

import pytest
from fanout_fixtures import db, fanout_settings, test_broker  # noqa: F401 - for every module here
from webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec
