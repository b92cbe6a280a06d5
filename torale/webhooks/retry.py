"""When to try a failed webhook delivery again.

The production schedule follows Standard Webhooks' recommendation and spans about
three days over nine retries (ten attempts in all). Delays get ±`jitter` random spread
so that endpoints that failed together (an outage) are not retried in lockstep.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

DEFAULT_DELAYS: tuple[float, ...] = (
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
)
DEFAULT_JITTER = 0.1
# A receiver's Retry-After may push a retry later, but not beyond this.
DEFAULT_MAX_RETRY_AFTER = 24 * 3600.0

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_ITEM = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")


def parse_delays(text: str) -> tuple[float, ...]:
    """Parse "5,300,1800" or "5s,5m,30m,2h" into seconds. Empty means no retries."""
    text = text.strip()
    if not text:
        return ()
    delays = []
    for raw in text.split(","):
        item = raw.strip().lower()
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(
                f"Invalid retry delay {raw.strip()!r}: use seconds or a number with "
                "s/m/h/d, comma-separated (e.g. '5,300' or '5s,5m,2h')"
            )
        delays.append(float(match.group(1)) * _UNITS[match.group(2)])
    return tuple(delays)


@dataclass(frozen=True)
class RetrySchedule:
    delays: tuple[float, ...] = DEFAULT_DELAYS
    jitter: float = DEFAULT_JITTER
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER

    def __post_init__(self) -> None:
        if any(delay < 0 for delay in self.delays):
            raise ValueError("Retry delays may not be negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("Retry jitter must be in [0, 1)")
        if self.max_retry_after < 0:
            raise ValueError("max_retry_after may not be negative")

    @classmethod
    def from_string(cls, text: str, **kwargs: float) -> RetrySchedule:
        return cls(delays=parse_delays(text), **kwargs)

    def next_delay(
        self,
        attempt_number: int,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait after failed attempt `attempt_number` (1-based), or None when
        no attempts are left. `retry_after` (from the receiver) can only lengthen it."""
        if attempt_number < 1:
            raise ValueError("attempt_number starts at 1")
        if attempt_number > len(self.delays):
            return None
        base = self.delays[attempt_number - 1]
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        delay = base * (1 + spread)
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


DEFAULT_SCHEDULE = RetrySchedule()
