"""Next fire times computed locally, the way Temporal computes them.

Temporal compiles a cron string into a calendar spec whose fields must *all* match,
so a day-of-month *and* a day-of-week restriction means "both" (`0 0 13 * 5` is
Friday the 13th), unlike Vixie cron's "either": croniter runs with `day_or=False`.
Matching is on the wall clock of the time zone; a wall time that does not exist
(the hour skipped when DST starts) does not fire, as on the server. We set no
jitter, so the server fires at exactly these instants.

One known difference: in the hour repeated when DST ends, Temporal fires some
matches in the first pass and others in the second (checked on server 1.32:
02:00 CEST, then 02:30 CET); here every match of that hour is its first pass.
Tests compare these times with the server's own `next_action_times`.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from torale.bounded import remember

# One comma-separated item of a field, in the syntax both croniter and Temporal read:
# `*`, a number or 3-letter name, a range, each with an optional step. croniter also
# takes `L`, `W`, `?`, `#` and `H`, which the server refuses or reads differently.
_ITEM = re.compile(r"(\*|([0-9]+|[a-z]{3})(-([0-9]+|[a-z]{3}))?)(/[0-9]+)?", re.IGNORECASE)
# Names by field position (month, day of week), as both read them.
_NAMES = {
    3: ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    4: ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
}
_FIRST = {3: 1, 4: 0}


def _value(token: str, position: int) -> int:
    if token.isdigit():
        return int(token)
    names = _NAMES.get(position, ())
    lowered = token.lower()
    return names.index(lowered) + _FIRST[position] if lowered in names else -1


def _ranges_ascend(fields: list[str]) -> bool:
    """Temporal refuses a range that runs backwards (`1-0`, `mon-sun`, `dec-jan`);
    croniter reads it as wrapping around, so without this the server says no at save."""
    for position, field in enumerate(fields):
        for item in field.split(","):
            match = _ITEM.fullmatch(item)
            if match and match.group(4) is not None:
                start, end = _value(match.group(2), position), _value(match.group(4), position)
                if start < 0 or end < 0 or start > end:
                    return False
    return True


def check_cron(cron: str) -> None:
    """Raise ValueError unless `cron` is a 5-field expression Temporal will accept and fire."""
    fields = cron.split()
    if (
        len(fields) != 5
        or not all(_ITEM.fullmatch(item) for field in fields for item in field.split(","))
        or not _ranges_ascend(fields)
        or not croniter.is_valid(cron)
    ):
        raise ValueError("Invalid cron expression")
    try:
        next_run_times(cron, "UTC")
    except ValueError as exc:  # e.g. `0 0 31 2 *`: valid, but no such day
        raise ValueError("Cron expression never fires") from exc


def next_run_times(
    cron: str, timezone: str, after: datetime | None = None, count: int = 1
) -> list[datetime]:
    """The next `count` fire times strictly after `after` (default: now), in UTC."""
    if "#" in cron:
        # Temporal reads `#` as the start of a comment (and we use that slot).
        raise ValueError(f"Unsupported cron expression: {cron!r}")
    zone = ZoneInfo(timezone)
    after = after or datetime.now(UTC)
    walls = croniter(cron, after.astimezone(zone).replace(tzinfo=None), day_or=False)
    times: list[datetime] = []
    while len(times) < count:
        wall: datetime = walls.get_next(datetime)
        moment = wall.replace(tzinfo=zone).astimezone(UTC)
        skipped_by_dst = moment.astimezone(zone).replace(tzinfo=None) != wall
        if not skipped_by_dst and moment > after:
            times.append(moment)
    return times


# (cron, timezone) -> its next fire time, and that time as a POSIX timestamp. The
# answer only changes once that time has passed, and tasks share few distinct crons,
# so a page of tasks costs a dict lookup each instead of a croniter parse (~170 us).
# Whether it has passed is asked of `time.time()`, not of a new aware datetime (a list
# page asks for every active task). Per process, deterministic: every replica computes
# the same values, nothing to invalidate on writes.
_upcoming: dict[tuple[str, str], tuple[datetime, float]] = {}
_UPCOMING_MAX = 10_000


def next_run_at(cron: str, timezone: str, after: datetime | None = None) -> datetime:
    """Next fire time after `after`, or after now (cached) when `after` is None."""
    if after is not None:
        return next_run_times(cron, timezone, after, 1)[0]
    key = (cron, timezone)
    cached = _upcoming.get(key)
    if cached is not None and cached[1] > time.time():
        return cached[0]
    upcoming = next_run_times(cron, timezone, datetime.now(UTC), 1)[0]
    remember(_upcoming, key, (upcoming, upcoming.timestamp()), _UPCOMING_MAX)
    return upcoming
