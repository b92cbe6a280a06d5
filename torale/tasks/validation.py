"""The rules a task's fields must follow (SPEC §5), in one place for REST and GraphQL.

Every failure is a `ValidationFailed` whose `loc` names the body field, so the 422
looks the same whichever door the request came through.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from croniter import croniter
from email_validator import EmailNotValidError, validate_email

from torale.errors import FieldError, ValidationFailed
from torale.input_limits import (
    HEADER_NAME_MAX,
    HEADER_VALUE_MAX,
    NAME_MAX,
    SCHEDULE_MAX,
    TEXT_MAX,
    TEXT_MIN,
    URL_MAX,
    check_json,
)
from torale.monitoring.errors import ProviderConfigError
from torale.monitoring.task_config import check_task_config
from torale.scheduling.cron import check_cron as check_temporal_cron
from torale.tasks.models import EXECUTOR_LLM_GROUNDED_SEARCH, NotifyBehavior

__all__ = ["NAME_MAX", "TEXT_MAX", "TEXT_MIN"]  # the task limits, as callers know them

GENERATED_NAME_MAX = 80
# Enough upcoming fire times to catch clustered entries such as "0,1 9 * * *".
_INTERVAL_SAMPLES = 200


def _field(name: str, msg: str) -> ValidationFailed:
    return ValidationFailed([FieldError(["body", name], msg)])


# Trimmed: ASCII whitespace only, the one set JSON Schema (ECMA) and Python regexes
# agree on, so `TEXT_PATTERN` says exactly what `check_text` checks.
ASCII_SPACE = " \t\n\r\f\v"
_SPACE, _VISIBLE = r"[ \t\n\r\f\v]", r"[^ \t\n\r\f\v]"
TEXT_PATTERN = rf"^{_SPACE}*{_VISIBLE}[\s\S]{{{TEXT_MIN - 2},{TEXT_MAX - 2}}}{_VISIBLE}{_SPACE}*$"


def check_text(name: str, value: str) -> str:
    # At most TEXT_MAX as sent, at least TEXT_MIN once trimmed: exactly what
    # `TEXT_PATTERN` and `maxLength` say in the OpenAPI document.
    cleaned = value.strip(ASCII_SPACE)
    if len(value) > TEXT_MAX or len(cleaned) < TEXT_MIN:
        raise _field(name, f"Must be between {TEXT_MIN} and {TEXT_MAX} characters")
    return cleaned


def check_name(value: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise _field("name", "Name must not be empty")
    if len(value) > NAME_MAX:
        raise _field("name", f"Name must be at most {NAME_MAX} characters")
    return cleaned


def name_from_query(search_query: str) -> str:
    """A readable default name: the query itself, cut at a word boundary when long."""
    text = " ".join(search_query.split())
    if len(text) <= GENERATED_NAME_MAX:
        return text
    cut = text[: GENERATED_NAME_MAX - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def check_cron(value: str, min_interval_seconds: int) -> str:
    if len(value) > SCHEDULE_MAX:
        raise _field("schedule", "Invalid cron expression")
    cron = " ".join(value.split())
    # Exactly what Temporal accepts and will fire (torale.scheduling.cron): croniter
    # alone also takes seconds, `L`, `W`, `H`, `#` and dates that never come.
    try:
        check_temporal_cron(cron)
    except ValueError:
        raise _field("schedule", "Invalid cron expression") from None
    if _shortest_gap_seconds(cron) < min_interval_seconds:
        raise _field(
            "schedule",
            f"Schedule runs more often than the minimum interval of "
            f"{_describe_seconds(min_interval_seconds)}",
        )
    return cron


def _shortest_gap_seconds(cron: str) -> float:
    times = croniter(cron, datetime(2026, 1, 1, tzinfo=UTC), day_or=False)
    previous = times.get_next(datetime)
    shortest = float("inf")
    for _ in range(_INTERVAL_SAMPLES):
        current = times.get_next(datetime)
        shortest = min(shortest, (current - previous).total_seconds())
        previous = current
    return shortest


def _describe_seconds(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds} seconds"


@functools.cache
def _iana_names() -> frozenset[str]:
    # Read once: the list comes from the tz database on disk (or the tzdata package).
    return frozenset(available_timezones())


def check_timezone(value: str) -> str:
    # Only IANA names: ZoneInfo alone also opens arbitrary relative paths under the tz
    # directories and fails in odd ways on long or strange strings.
    if value not in _iana_names():
        shown = value if len(value) <= 64 else value[:64] + "…"
        raise _field("timezone", f"Unknown timezone: {shown}")
    return value


def check_notify_behavior(value: str) -> NotifyBehavior:
    try:
        return NotifyBehavior(value)
    except ValueError:
        allowed = ", ".join(b.value for b in NotifyBehavior)
        raise _field("notify_behavior", f"Must be one of: {allowed}") from None


def check_executor_type(value: str) -> str:
    if value != EXECUTOR_LLM_GROUNDED_SEARCH:
        raise _field("executor_type", f"Must be {EXECUTOR_LLM_GROUNDED_SEARCH}")
    return value


FAILURE_THRESHOLD_MIN, FAILURE_THRESHOLD_MAX = 1, 100


def check_failure_threshold(value: Any) -> int:
    # JSON has one number type: 19.0 is 19 (JSON Schema's "integer" agrees).
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # bool is an int to Python, never to a client.
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not FAILURE_THRESHOLD_MIN <= value <= FAILURE_THRESHOLD_MAX
    ):
        raise _field(
            "failure_threshold",
            f"Must be a whole number from {FAILURE_THRESHOLD_MIN} to {FAILURE_THRESHOLD_MAX}",
        )
    return value


def check_config(value: Any) -> dict[str, Any]:
    """The rules preview and every run apply (torale.monitoring.task_config)."""
    if not isinstance(value, dict):
        raise _field("config", "Must be an object")
    check_json(["body", "config"], value)
    try:
        check_task_config(value)
    except ProviderConfigError as exc:
        raise _field("config", exc.message) from None
    return value


_CHANNEL_KEYS = {"webhook": {"type", "url", "headers"}, "email": {"type", "address"}}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def check_notifications(value: Any) -> list[dict[str, Any]]:
    """Channels: `{"type": "webhook", "url", "headers"?}` or `{"type": "email", "address"}`."""
    if not isinstance(value, list):
        raise _field("notifications", "Must be a list of channels")
    check_json(["body", "notifications"], value)
    errors: list[FieldError] = []
    cleaned: list[dict[str, Any]] = []
    for index, channel in enumerate(value):
        loc: list[str | int] = ["body", "notifications", index]
        try:
            cleaned.append(_check_channel(channel))
        except ValueError as exc:
            errors.append(FieldError(loc, str(exc)))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _check_channel(channel: Any) -> dict[str, Any]:
    if not isinstance(channel, dict):
        raise ValueError("Each channel must be an object")
    kind = channel.get("type")
    if kind not in _CHANNEL_KEYS:
        raise ValueError("Channel type must be 'webhook' or 'email'")
    unknown = sorted(set(channel) - _CHANNEL_KEYS[kind])
    if unknown:
        # Refused, not dropped: a misspelt key must not look like a saved setting.
        raise ValueError(f"Unknown {kind} channel field: {unknown[0]}")
    return _check_webhook(channel) if kind == "webhook" else _check_email(channel)


def _check_webhook(channel: dict[str, Any]) -> dict[str, Any]:
    url = channel.get("url")
    if not isinstance(url, str):
        raise ValueError("Webhook url is required")
    if len(url) > URL_MAX:
        raise ValueError(f"Webhook URL must be at most {URL_MAX} characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Webhook URL must be an http or https URL")
    headers = channel.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str)
        and len(k) <= HEADER_NAME_MAX
        and _HEADER_NAME.fullmatch(k)
        and isinstance(v, str)
        and len(v) <= HEADER_VALUE_MAX
        and "\n" not in v
        and "\r" not in v
        for k, v in headers.items()
    ):
        raise ValueError(
            "Webhook headers must map header names (at most "
            f"{HEADER_NAME_MAX} characters) to one-line values (at most {HEADER_VALUE_MAX})"
        )
    result: dict[str, Any] = {"type": "webhook", "url": url.strip()}
    if headers:
        result["headers"] = headers
    return result


def _check_email(channel: dict[str, Any]) -> dict[str, Any]:
    address = channel.get("address")
    if not isinstance(address, str):
        raise ValueError("Email address is required")
    try:
        # `.test` (RFC 2606) is accepted like any domain: what `format: email` allows.
        normalized = validate_email(
            address, check_deliverability=False, test_environment=True
        ).normalized
    except EmailNotValidError:
        raise ValueError("Must be a valid email address") from None
    return {"type": "email", "address": normalized}
