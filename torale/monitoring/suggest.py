"""Turn a plain-language request into a task draft that always validates.

The model proposes; every field is then checked against the task rules (SPEC §5) and
replaced, when it fails, by the current task's value or a safe default. Only the cron
expression gets a second chance with the model, because a good schedule is hard to guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from torale.errors import ValidationFailed
from torale.monitoring.providers.base import LLMProvider

DEFAULT_SCHEDULE = "0 9 * * *"
DEFAULT_NOTIFY = "once"
NOTIFY_BEHAVIORS = ("once", "always", "track_state")
NAME_MAX = 200
TEXT_MIN, TEXT_MAX = 10, 500
PROMPT_MAX = 2000
FIELDS = ("name", "search_query", "condition_description", "schedule", "notify_behavior")

SUGGEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "short title, at most 200 characters"},
        "search_query": {"type": "string", "description": "10-500 characters"},
        "condition_description": {"type": "string", "description": "10-500 characters"},
        "schedule": {"type": "string", "description": "5-field cron, e.g. 0 9 * * *"},
        "notify_behavior": {"type": "string", "enum": list(NOTIFY_BEHAVIORS)},
    },
    "required": list(FIELDS),
    "additionalProperties": False,
}
CRON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"schedule": {"type": "string"}},
    "required": ["schedule"],
    "additionalProperties": False,
}

_SYSTEM = (
    "You set up web-monitoring tasks. From the user's request produce: `name` (short "
    "title), `search_query` (what to search the web for), `condition_description` (when "
    "the user should be notified, stated as a checkable condition), `schedule` (a standard "
    "5-field cron expression: minute hour day-of-month month day-of-week; check at most "
    "as often as the subject changes, e.g. daily for releases, hourly for prices or stock) "
    "and `notify_behavior`: `once` (notify the first time, then stop), `always` (every "
    "time the condition holds) or `track_state` (whenever the tracked facts change). "
    "When an existing task is given, keep every field the request does not ask to change "
    "exactly as it is."
)


def cron_problem(expression: Any, *, min_interval_seconds: int = 60) -> str | None:
    """Why `expression` is not an acceptable schedule, or None when it is."""
    if not isinstance(expression, str) or len(expression.split()) != 5:
        return "the schedule must be a 5-field cron expression (minute hour day month weekday)"
    if not croniter.is_valid(expression):
        return f"{expression!r} is not a valid cron expression"
    runs = croniter(expression, datetime(2030, 1, 1, tzinfo=UTC))
    first, second = runs.get_next(datetime), runs.get_next(datetime)
    if (second - first).total_seconds() < min_interval_seconds:
        return f"{expression!r} runs more often than every {min_interval_seconds} seconds"
    return None


def check_prompt(prompt: str | None) -> str:
    """The prompt, trimmed; 422 when empty or too long (before any provider is asked)."""
    raw = prompt or ""
    prompt = raw.strip()
    if not prompt:
        raise ValidationFailed.field(("body", "prompt"), "Describe what to monitor")
    if len(raw) > PROMPT_MAX:
        raise ValidationFailed.field(
            ("body", "prompt"), f"The prompt is longer than {PROMPT_MAX} characters"
        )
    return prompt


async def suggest_task(
    llm: LLMProvider,
    prompt: str,
    current_task: dict[str, Any] | None = None,
    *,
    min_interval_seconds: int = 60,
) -> dict[str, str]:
    prompt = check_prompt(prompt)
    current = {k: current_task[k] for k in FIELDS if current_task and k in current_task}
    user = f"Request: {prompt}"
    if current:
        user = f"Existing task:\n{json.dumps(current, ensure_ascii=False)}\n\n{user}"
    proposal = await llm.complete_json(
        system=_SYSTEM, user=user, schema=SUGGEST_SCHEMA, schema_name="task_suggestion"
    )

    def pick(key: str, valid: Callable[[str], bool]) -> str | None:
        for candidate in (proposal.get(key), current.get(key)):
            if isinstance(candidate, str) and valid(candidate.strip()):
                return candidate.strip()
        return None

    text_ok = lambda text: TEXT_MIN <= len(text) <= TEXT_MAX  # noqa: E731
    query = pick("search_query", text_ok) or _fit_text(prompt)
    if query is None:
        raise ValidationFailed.field(
            ("body", "prompt"), f"Say in at least {TEXT_MIN} characters what to monitor"
        )
    condition = pick("condition_description", text_ok) or _clip(
        f"There is new information about: {query}"
    )
    name = pick("name", lambda text: 0 < len(text) <= NAME_MAX) or _name_from(query)
    notify = pick("notify_behavior", lambda text: text in NOTIFY_BEHAVIORS) or DEFAULT_NOTIFY
    schedule = await _schedule(
        llm, proposal.get("schedule"), current.get("schedule"), user, min_interval_seconds
    )
    return {
        "name": name,
        "search_query": query,
        "condition_description": condition,
        "schedule": schedule,
        "notify_behavior": notify,
    }


async def _schedule(
    llm: LLMProvider, proposed: Any, current: Any, user: str, min_interval_seconds: int
) -> str:
    proposed = re.sub(r"\s+", " ", proposed).strip() if isinstance(proposed, str) else proposed
    problem = cron_problem(proposed, min_interval_seconds=min_interval_seconds)
    if problem is None:
        return proposed
    repair = await llm.complete_json(
        system="You fix cron expressions. Answer with a standard 5-field cron expression.",
        user=f"{user}\n\nThe schedule {proposed!r} was rejected: {problem}. "
        "Give a corrected schedule.",
        schema=CRON_SCHEMA,
        schema_name="cron_fix",
    )
    repaired = repair.get("schedule")
    repaired = re.sub(r"\s+", " ", repaired).strip() if isinstance(repaired, str) else repaired
    for candidate in (repaired, current):
        if (
            isinstance(candidate, str)
            and cron_problem(candidate, min_interval_seconds=min_interval_seconds) is None
        ):
            return candidate
    return DEFAULT_SCHEDULE


def _fit_text(text: str) -> str | None:
    """`text` fitted to a task's text field, or None when too short to be one."""
    fitted = _clip(text)
    return fitted if len(fitted) >= TEXT_MIN else None


def _clip(text: str) -> str:
    """Whitespace collapsed, cut to a task's longest text."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1].rstrip() + "…"


def _name_from(query: str) -> str:
    return query if len(query) <= 60 else query[:59].rstrip() + "…"
