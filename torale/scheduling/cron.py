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

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter


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


def next_run_at(cron: str, timezone: str, after: datetime | None = None) -> datetime:
    return next_run_times(cron, timezone, after, 1)[0]
