"""Change tracking between executions and the notify decision of SPEC §6."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from torale.monitoring.providers.base import LLMProvider, validate_reply
from torale.monitoring.structured import structured_changes, summarize

INITIAL_SUMMARY = "Initial execution - no previous state to compare"
NO_CHANGE_SUMMARY = "No significant changes detected"

# A task's notify_behavior: "once", "always" or "track_state". Typed as the plain string
# a stored row holds; `decide` refuses any other value.
NotifyBehavior = str

CHANGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "changed": {"type": "boolean"},
        "summary": {"type": "string"},
    },
    "required": ["changed", "summary"],
    "additionalProperties": False,
}

_SYSTEM = (
    "You compare two snapshots of facts a user monitors. Decide whether the new snapshot "
    "differs meaningfully from the previous one: a changed price, date, status, version or "
    "availability is meaningful; rewording, reordering, formatting or a different "
    "but equivalent way of saying the same thing is not. `summary` is one short sentence "
    'naming what changed with old and new values (e.g. "Price dropped from $499 to $449").'
)


class ChangeReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    changed: bool
    summary: str


@dataclass(frozen=True)
class StateComparison:
    changed: bool
    summary: str


@dataclass(frozen=True)
class Decision:
    should_notify: bool
    change_summary: str | None
    complete_task: bool


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\s+", " ", value).strip().casefold()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k).strip().casefold(): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def state_hash(state: Any) -> str:
    """Equal for states that differ only in key order, whitespace or letter case."""
    canonical = json.dumps(
        _canonical(state), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def compare_structured(previous: Any, current: Any) -> StateComparison:
    """States of a declared shape (output_schema): a changed value is a change, named
    with its old and new value; no LLM is asked."""
    if previous is None:
        return StateComparison(changed=True, summary=INITIAL_SUMMARY)
    changes = structured_changes(previous, current)
    if not changes:
        return StateComparison(changed=False, summary=NO_CHANGE_SUMMARY)
    return StateComparison(changed=True, summary=summarize(changes))


async def compare_states(
    llm: LLMProvider, previous: Any, current: Any, *, structured: bool = False
) -> StateComparison:
    """Hashes first; the LLM is asked only when they differ (free-form states)."""
    if structured:
        return compare_structured(previous, current)
    if previous is None:
        return StateComparison(changed=True, summary=INITIAL_SUMMARY)
    if state_hash(previous) == state_hash(current):
        return StateComparison(changed=False, summary=NO_CHANGE_SUMMARY)
    data = await llm.complete_json(
        system=_SYSTEM,
        user=(
            "Previous state:\n"
            + json.dumps(previous, ensure_ascii=False, default=str)
            + "\n\nNew state:\n"
            + json.dumps(current, ensure_ascii=False, default=str)
        ),
        schema=CHANGE_SCHEMA,
        schema_name="state_change",
    )
    reply = validate_reply(data, ChangeReply, source=f"LLM {llm.name}")
    summary = reply.summary.strip()
    if not reply.changed:
        return StateComparison(changed=False, summary=NO_CHANGE_SUMMARY)
    return StateComparison(changed=True, summary=summary or "State changed")


def decide(
    notify_behavior: NotifyBehavior,
    condition_met: bool,
    comparison: StateComparison | None = None,
) -> Decision:
    """What to do after an execution; `comparison` is required for `track_state`."""
    summary = comparison.summary if comparison else None
    if notify_behavior == "once":
        return Decision(
            should_notify=condition_met, change_summary=summary, complete_task=condition_met
        )
    if notify_behavior == "always":
        return Decision(should_notify=condition_met, change_summary=summary, complete_task=False)
    if notify_behavior == "track_state":
        if comparison is None:
            raise ValueError("track_state needs the state comparison")
        return Decision(
            should_notify=condition_met and comparison.changed,
            change_summary=summary,
            complete_task=False,
        )
    raise ValueError(f"Unknown notify_behavior {notify_behavior!r}")


async def decide_after_execution(
    llm: LLMProvider,
    *,
    notify_behavior: NotifyBehavior,
    condition_met: bool,
    previous_state: Any,
    current_state: Any,
    structured: bool = False,
) -> Decision:
    """Compare states (only `track_state` pays for an LLM call) and decide.

    For `once` and `always` the summary still says "initial" or "no change" when that is
    known without the LLM, and is None when the states differ but nobody asked how.
    """
    if notify_behavior == "track_state" or structured:
        comparison = await compare_states(llm, previous_state, current_state, structured=structured)
    elif previous_state is None:
        comparison = StateComparison(changed=True, summary=INITIAL_SUMMARY)
    elif state_hash(previous_state) == state_hash(current_state):
        comparison = StateComparison(changed=False, summary=NO_CHANGE_SUMMARY)
    else:
        comparison = None
    return decide(notify_behavior, condition_met, comparison)
