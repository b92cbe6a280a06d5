"""Timestamps on the wire: UTC with a `Z`, whatever zone the value was in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from torale.graphql import scalars
from torale.graphql.scalars import serialize_datetime


def _reference(value: datetime) -> str:
    # The contract's formula, before UTC values got their own faster path.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Stamp(datetime):
    """A datetime subclass (as some libraries return): never taken from the texts kept."""


BERLIN = ZoneInfo("Europe/Berlin")
VALUES = [
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 120),  # naive: read as UTC
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=ZoneInfo("UTC")),
    # The hour repeated when DST ends: the same wall time, two instants.
    datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=0),
    datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1),
    _Stamp(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_timestamp_reads_as_before(value: datetime) -> None:
    assert serialize_datetime(value) == _reference(value)
    assert serialize_datetime(value) == _reference(value)  # the second time, kept


def test_a_fold_is_never_taken_for_the_other_instant() -> None:
    first, second = VALUES[5], VALUES[6]
    assert serialize_datetime(first) == "2026-10-25T00:30:00Z"
    assert serialize_datetime(second) == "2026-10-25T01:30:00Z"


def test_utc_texts_are_kept_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scalars, "FORMATTED_UTC", {})
    monkeypatch.setattr(scalars, "_FORMATTED_MAX", 3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stamps = [start + timedelta(seconds=n) for n in range(5)]
    for stamp in stamps:
        assert serialize_datetime(stamp) == _reference(stamp)
        assert 0 < len(scalars.FORMATTED_UTC) <= 3
    assert scalars.FORMATTED_UTC[stamps[-1]] == _reference(stamps[-1])
    # Other zones are converted each time, never kept.
    serialize_datetime(VALUES[3])
    assert VALUES[3] not in scalars.FORMATTED_UTC
