"""Rate limits written as "100/minute;1000/hour;10000/day": the `limits` notation.

The grammar and its quirks are `limits.parse_many`'s (limits 5.8, `limits/util.py`),
kept here so the API does not import `limits`: its package imports its storage and
strategy modules (with `deprecated`, `wrapt` and `packaging`), ~1.3 MiB of an idle
API's memory for one parser. tests/test_rate_limit_notation.py holds the two parsers
to the same answers.

One window: an amount, "/" or "per", an optional multiple and a granularity (second,
minute, hour, day, month of 30 days, year of 360 days; a trailing "s" allowed, any
case). Windows are separated by ",", ";" or "|".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[,;|]{1}")
_SINGLE = r"""
    \s*([0-9]+)
    \s*(/|\s*per\s*)
    \s*([0-9]+)?
    \s*([a-z]+)
    \s*
    """
_ONE_WINDOW = re.compile(_SINGLE, re.IGNORECASE | re.VERBOSE)
# `(:?` is `limits`' own spelling (an optional colon before a separator), kept as is.
_WHOLE = re.compile(rf"^{_SINGLE}(:?{_SEPARATORS.pattern}{_SINGLE})*$", re.IGNORECASE | re.VERBOSE)

_DAY = 24 * 60 * 60
GRANULARITY_SECONDS = {
    "second": 1,
    "minute": 60,
    "hour": 60 * 60,
    "day": _DAY,
    "month": 30 * _DAY,
    "year": 12 * 30 * _DAY,
}


@dataclass(frozen=True)
class RateLimitWindow:
    """At most `amount` hits per `multiples` times `granularity`."""

    amount: int
    granularity: str
    multiples: int = 1

    def get_expiry(self) -> int:
        """The window's length in seconds (the name `limits.RateLimitItem` uses)."""
        return GRANULARITY_SECONDS[self.granularity] * self.multiples


def parse_many(spec: str) -> list[RateLimitWindow]:
    """Every window of `spec`; ValueError when it is not in the notation."""
    if not (isinstance(spec, str) and _WHOLE.match(spec)):
        raise ValueError(f"couldn't parse rate limit string '{spec}'")
    windows = []
    for part in _SEPARATORS.split(spec):
        match = _ONE_WINDOW.match(part)
        if match:
            amount, _, multiples, granularity = match.groups()
            windows.append(
                RateLimitWindow(int(amount), _granularity(granularity), int(multiples or 0) or 1)
            )
    return windows


def _granularity(word: str) -> str:
    lower = word.lower()
    name = lower[:-1] if lower.endswith("s") and lower[:-1] in GRANULARITY_SECONDS else lower
    if name not in GRANULARITY_SECONDS:
        raise ValueError(f"no granularity matched for {word}")
    return name
