"""torale.rate_limit_notation reads the notation exactly as `limits.parse_many` does
(the `limits` package is installed, only the API no longer imports it)."""

from __future__ import annotations

import pytest
from limits import parse_many as limits_parse_many

from torale.rate_limit_notation import RateLimitWindow, parse_many

ACCEPTED = [
    "100/minute;1000/hour;10000/day",
    "10/hour",
    "60/minute;600/hour",
    "1000000/minute",
    "1 per second",
    "5 per 2 minutes",
    "  3 /  10  Seconds ",
    "1/SECOND,2/Minutes|3/hours",
    "7/0 day",  # a multiple of 0 counts as 1
    "2/05 months;1/year",
    "1/minute:;2/hour",  # `limits` allows a colon before a separator
    "0/minute",  # parsed; torale.ratelimit refuses the amount
]
REFUSED = [
    "lots",
    "",
    "100",
    "100/",
    "/minute",
    "100/fortnight",
    "100/minutess",
    "100/minute;",
    "-1/minute",
    "1.5/minute",
    "100 minute",
]


def _as_limits(window: RateLimitWindow) -> tuple[int, int]:
    return window.amount, window.get_expiry()


@pytest.mark.parametrize("spec", ACCEPTED)
def test_windows_match_limits(spec: str) -> None:
    expected = [(item.amount, item.get_expiry()) for item in limits_parse_many(spec)]
    assert [_as_limits(window) for window in parse_many(spec)] == expected


@pytest.mark.parametrize("spec", REFUSED)
def test_refusals_match_limits(spec: str) -> None:
    with pytest.raises(ValueError):
        limits_parse_many(spec)
    with pytest.raises(ValueError):
        parse_many(spec)


def test_a_window_names_its_granularity() -> None:
    assert parse_many("5 per 2 Hours") == [RateLimitWindow(5, "hour", 2)]
