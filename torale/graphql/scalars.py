"""Scalars whose wire format the contract fixes: timestamps are UTC with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from torale.bounded import remember

# Timestamps already in UTC (what asyncpg gives for `timestamptz`) -> their text.
# A page repeats the same instants (created/updated at, the next run of a shared
# cron), and formatting one costs more than looking it up. Only `datetime` itself with
# `UTC` is kept: equal ones are then the same instant, so they share one text. The
# written-out field loop (`torale.graphql.field_code`) looks values of exactly that
# kind up here itself, as this function does first.
FORMATTED_UTC: dict[datetime, str] = {}
_FORMATTED_MAX = 4096


def serialize_datetime(value: datetime) -> str:
    if value.tzinfo is UTC and type(value) is datetime:
        text = FORMATTED_UTC.get(value)
        if text is None:
            # isoformat() ends in "+00:00" for UTC, and nowhere else holds it.
            text = remember(FORMATTED_UTC, value, value.isoformat()[:-6] + "Z", _FORMATTED_MAX)
        return text
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


DateTimeZ = strawberry.scalar(
    name="DateTime",
    description="ISO 8601 timestamp in UTC with a Z suffix",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

SCALAR_OVERRIDES = {datetime: DateTimeZ}
