"""A task's input fields, declared once (SPEC §5).

`TASK_FIELDS` names every field a client may write, with its JSON type, its default,
the constraints the OpenAPI document shows and the domain rule that enforces them
(`torale.tasks.validation`). Everything else is derived from it:

- the REST bodies `TaskCreateBody` / `TaskUpdateBody` (strict, unknown fields refused,
  constraints documented);
- the service's validation and the set of updatable fields (`torale.tasks.service`);
- the GraphQL inputs `CreateTaskInput` / `UpdateTaskInput`, built from it by
  `torale.tasks.graphql_inputs` (closed sets become GraphQL enums there).

A new task field is one entry here (plus its column and its GraphQL output field).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import available_timezones

from pydantic import BeforeValidator, Field, create_model
from pydantic_core import PydanticCustomError

from torale.errors import FieldError, ValidationFailed
from torale.http.bodies import StrictBody, documented
from torale.input_limits import (
    HEADER_NAME_MAX,
    HEADER_VALUE_MAX,
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    NAME_MAX,
    SCHEDULE_MAX,
    TEXT_MAX,
    TEXT_MIN,
    URL_MAX,
)
from torale.monitoring.output_schema import MAX_PROPERTIES, check_output_schema
from torale.monitoring.task_config import TASK_CONFIG_SCHEMA
from torale.tasks import validation as rules
from torale.tasks.models import (
    DEFAULT_FAILURE_THRESHOLD,
    EXECUTOR_LLM_GROUNDED_SEARCH,
    ExecutorType,
    NotifyBehavior,
    TaskState,
)

REQUIRED: Any = ...

# At least TEXT_MIN characters once surrounding whitespace is trimmed (maxLength caps
# the raw text): what `rules.check_text` checks, as a pattern.
TEXT_PATTERN = rules.TEXT_PATTERN
# Five fields of `*`, numbers, 3-letter names, ranges, steps and lists; which values
# Temporal accepts and fires is checked by `torale.scheduling.cron.check_cron`.
_CRON_ITEM = r"(\*|([0-9]+|[A-Za-z]{3})(-([0-9]+|[A-Za-z]{3}))?)(/[0-9]+)?"
_CRON_FIELD = rf"{_CRON_ITEM}(,{_CRON_ITEM})*"
CRON_PATTERN = rf"^\s*{_CRON_FIELD}(\s+{_CRON_FIELD}){{4}}\s*$"
HEADER_NAME_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
_ONE_LINE = {"not": {"pattern": "[\r\n]"}}
_JSON_LIMITS = f"At most {JSON_MAX_DEPTH} levels deep and {JSON_MAX_BYTES} bytes as JSON."


WEBHOOK_URL_SCHEMA: dict[str, Any] = {
    "maxLength": URL_MAX,
    "pattern": r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@:]",
    "description": "http(s); private addresses are refused unless the server allows them",
}


@functools.cache
def timezone_names() -> list[str]:
    return sorted(available_timezones())


def _channel_schema(
    kind: str, target: str, target_schema: dict[str, Any], **optional: Any
) -> dict[str, Any]:
    """One kind of channel: `type` names the kind, `target` says where to send and is
    required, and nothing but the `optional` properties may come with them."""
    return {
        "type": "object",
        "title": f"{kind.capitalize()}Channel",
        "required": ["type", target],
        "additionalProperties": False,
        "properties": {"type": {"const": kind}, target: target_schema, **optional},
    }


def _channels_schema() -> dict[str, Any]:
    webhook = _channel_schema(
        "webhook",
        "url",
        {"type": "string", **WEBHOOK_URL_SCHEMA},
        headers={
            "type": "object",
            "description": "Extra HTTP headers sent with each delivery",
            "propertyNames": {
                "maxLength": HEADER_NAME_MAX,
                "pattern": HEADER_NAME_PATTERN,
                **_ONE_LINE,
            },
            "additionalProperties": {
                "type": "string",
                "maxLength": HEADER_VALUE_MAX,
                **_ONE_LINE,
            },
        },
    )
    email = _channel_schema(
        "email", "address", {"type": "string", "format": "email", "maxLength": 320}
    )
    return {"items": {"oneOf": [webhook, email]}, "description": f"Channels. {_JSON_LIMITS}"}


def _output_schema_schema() -> dict[str, Any]:
    """What the server checks of an `output_schema` (`torale.monitoring.output_schema`), as far
    as JSON Schema can say it: an object schema at the root, `properties` holding
    schemas, `required` unique names, no `$ref`/`$defs`. That the whole document is a
    valid JSON Schema is checked too, and cannot be said here."""
    return {
        "required": ["type"],
        "properties": {
            "type": {"const": "object"},
            "properties": {
                "type": "object",
                "maxProperties": MAX_PROPERTIES,
                "additionalProperties": {"type": ["object", "boolean"]},
            },
            "required": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        },
        "not": {"anyOf": [{"required": ["$ref"]}, {"required": ["$defs"]}]},
    }


@dataclass(frozen=True)
class TaskField:
    """One writable field. `check(value, min_interval_seconds)` returns the value to
    store or raises `ValidationFailed`; None means the JSON type says it all."""

    wire: Any
    schema: dict[str, Any]
    check: Callable[[Any, int], Any] | None = None
    default: Any = REQUIRED
    description: str = ""
    on_create: bool = True
    on_update: bool = True
    # null is a value (a task's `name`: null means "generate it").
    nullable: bool = False
    # The domain's enum of a closed set: a GraphQL enum on `/graphql`, its strings on REST.
    closed_set: type[StrEnum] | None = None


def _text(name: str) -> Callable[[Any, int], Any]:
    return lambda value, _: rules.check_text(name, value)


def _checked_on_the_wire(wire: Any, check: Callable[[Any], Any]) -> Any:
    """`wire`, with the domain's rule run by the REST model too: for a value the GraphQL
    type behind it cannot carry (an Int beyond 32 bits), with the same message."""

    def validate(value: Any) -> Any:
        if value is None:
            return value
        try:
            return check(value)
        except ValidationFailed as exc:
            raise PydanticCustomError("value_error", exc.errors[0].msg) from None

    return Annotated[wire, BeforeValidator(validate)]


TEXT_SCHEMA = {"minLength": TEXT_MIN, "maxLength": TEXT_MAX, "pattern": TEXT_PATTERN}

TASK_FIELDS: dict[str, TaskField] = {
    "name": TaskField(
        str,
        {"maxLength": NAME_MAX, "pattern": r"\S"},
        lambda value, _: rules.check_name(value),
        default=None,
        nullable=True,
        description="Generated from the query when omitted or null",
    ),
    "search_query": TaskField(str, TEXT_SCHEMA, _text("search_query")),
    "condition_description": TaskField(str, TEXT_SCHEMA, _text("condition_description")),
    "schedule": TaskField(
        str,
        {"maxLength": SCHEDULE_MAX, "pattern": CRON_PATTERN, "format": "cron"},
        rules.check_cron,
        description="5-field cron, e.g. `0 9 * * 1-5`, evaluated in `timezone`; at most "
        "as often as the server's minimum interval (default: every minute)",
    ),
    "timezone": TaskField(
        str,
        {"enum": timezone_names()},
        lambda value, _: rules.check_timezone(value),
        default="UTC",
        description="IANA time zone name",
    ),
    "notify_behavior": TaskField(
        str,
        {"enum": [b.value for b in NotifyBehavior]},
        lambda value, _: rules.check_notify_behavior(value),
        default=NotifyBehavior.ONCE.value,
        closed_set=NotifyBehavior,
    ),
    "executor_type": TaskField(
        str,
        {"enum": [EXECUTOR_LLM_GROUNDED_SEARCH]},
        lambda value, _: rules.check_executor_type(value),
        default=EXECUTOR_LLM_GROUNDED_SEARCH,
        closed_set=ExecutorType,
    ),
    "config": TaskField(
        dict[str, Any],
        {
            **TASK_CONFIG_SCHEMA,
            "description": f"{TASK_CONFIG_SCHEMA['description']} {_JSON_LIMITS}",
        },
        lambda value, _: rules.check_config(value),
        default={},
    ),
    "notifications": TaskField(
        # Items are checked by the domain rule, which words each channel's problem.
        list[Any],
        _channels_schema(),
        lambda value, _: rules.check_notifications(value),
        default=[],
    ),
    "is_public": TaskField(bool, {}, default=False),
    "failure_threshold": TaskField(
        _checked_on_the_wire(int, rules.check_failure_threshold),
        {"minimum": rules.FAILURE_THRESHOLD_MIN, "maximum": rules.FAILURE_THRESHOLD_MAX},
        lambda value, _: rules.check_failure_threshold(value),
        default=DEFAULT_FAILURE_THRESHOLD,
        description="Consecutive failed executions after which the channels get `task_failing`",
    ),
    "output_schema": TaskField(
        dict[str, Any],
        _output_schema_schema(),
        lambda value, _: check_output_schema(value),
        default=None,
        nullable=True,
        description="JSON Schema (an object at the root, no $ref) the extracted "
        f"`current_state` follows. {_JSON_LIMITS}",
    ),
    "run_immediately": TaskField(
        bool, {}, default=False, on_update=False, description="Also start a run now"
    ),
    "state": TaskField(
        str,
        {"enum": [s.value for s in TaskState]},
        on_create=False,
        description="Moves the schedule too; an illegal transition is 409",
        closed_set=TaskState,
    ),
}

CREATE_FIELDS = tuple(name for name, f in TASK_FIELDS.items() if f.on_create)
UPDATE_FIELDS = tuple(name for name, f in TASK_FIELDS.items() if f.on_update)


def with_defaults(given: dict[str, Any]) -> dict[str, Any]:
    """A create's fields: what was given, the declared default for the rest; a missing
    required field is a 422 naming it."""
    values: dict[str, Any] = {}
    missing = []
    for name in CREATE_FIELDS:
        spec = TASK_FIELDS[name]
        if name in given:
            values[name] = given[name]
        elif spec.default is REQUIRED:
            missing.append(FieldError(["body", name], "Field required", "missing"))
        else:
            values[name] = copy.copy(spec.default)
    if missing:
        raise ValidationFailed(missing)
    return values


def _body(model_name: str, names: tuple[str, ...], *, partial: bool) -> type[StrictBody]:
    fields: dict[str, Any] = {}
    for name in names:
        spec = TASK_FIELDS[name]
        wire = spec.wire | None if spec.nullable else spec.wire
        default = None if partial else spec.default
        extra = documented(spec.schema, drop_default=partial)
        info = Field(default, description=spec.description or None, json_schema_extra=extra)
        fields[name] = (wire, info)
    return create_model(model_name, __base__=StrictBody, **fields)


if TYPE_CHECKING:
    # Built at import from TASK_FIELDS, so a checker cannot see their fields: to it they
    # are what every one of them is, a strict body.
    TaskCreateBody = StrictBody
    TaskUpdateBody = StrictBody
else:
    TaskCreateBody = _body("TaskCreate", CREATE_FIELDS, partial=False)
    TaskUpdateBody = _body("TaskUpdate", UPDATE_FIELDS, partial=True)
TaskUpdateBody.__doc__ = "Partial update: only the fields present in the body change."


class VisibilityBody(StrictBody):
    is_public: bool


class ForkBody(StrictBody):
    name: str | None = Field(
        None,
        description="Default: the source's name with ` (Copy)`",
        json_schema_extra=documented(TASK_FIELDS["name"].schema),
    )
