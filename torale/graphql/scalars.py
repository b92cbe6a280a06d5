"""Scalars whose wire format the contract fixes: timestamps are UTC with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry


def serialize_datetime(value: datetime) -> str:
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
