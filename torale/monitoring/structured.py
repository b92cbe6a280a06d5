"""Structured results: a task's `output_schema` shapes the state the LLM extracts.

- `envelope_schema` puts the task's schema where the free-form `current_state` was, so
  the provider's structured output (OpenAI `response_format: json_schema`, Gemini
  `responseSchema`) asks for exactly that shape;
- `state_problem` checks a reply's state against the schema (jsonschema, the dialect
  the schema names) and says what is wrong in words the repair prompt and an
  execution's `error_message` can carry;
- `gemini_schema` turns a JSON Schema into the OpenAPI subset Gemini's `responseSchema`
  takes;
- `structured_changes` compares two states value by value (no LLM needed: the shape is
  declared, so a changed value is a change).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from jsonschema.exceptions import best_match

from torale.monitoring.output_schema import validator_class

# Shown in an error message: the first problems, not all of them.
_PROBLEMS_SHOWN = 3
# Changed fields named in a change summary.
_CHANGES_SHOWN = 5


def envelope_schema(base: dict[str, Any], output_schema: dict[str, Any]) -> dict[str, Any]:
    envelope = copy.deepcopy(base)
    state = {k: v for k, v in output_schema.items() if k not in ("$schema", "$id")}
    state.setdefault("description", "The facts the condition depends on, in this exact shape")
    envelope["properties"]["current_state"] = state
    return envelope


def state_problem(output_schema: dict[str, Any], state: Any) -> str | None:
    """None when `state` conforms; otherwise the first problems, readable."""
    validator = validator_class(output_schema)(output_schema)
    errors = sorted(validator.iter_errors(state), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    first = best_match(errors)
    shown = [first, *[e for e in errors if e is not first][: _PROBLEMS_SHOWN - 1]]
    parts = []
    for error in shown:
        where = "/".join(str(p) for p in error.absolute_path)
        parts.append(f"current_state{'/' + where if where else ''}: {error.message[:200]}")
    more = len(errors) - len(shown)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


# Keywords of Gemini's Schema object (an OpenAPI 3.0 subset).
_GEMINI_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)


def gemini_schema(schema: Any) -> Any:
    """The JSON Schema as Gemini's `responseSchema`: `["x", "null"]` types become
    `nullable`, `const` an enum, and keywords Gemini does not know are left out (the
    reply is validated against the full schema afterwards anyway)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        kind = kinds[0] if len(kinds) == 1 else None
        if kind is None and kinds:
            out["anyOf"] = [{"type": k} for k in kinds]
    if kind is not None:
        out["type"] = kind
    if "const" in schema:
        out["enum"] = [schema["const"]]
    for key, value in schema.items():
        if key not in _GEMINI_KEYS or key == "type" or (key == "anyOf" and key in out):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: gemini_schema(sub) for name, sub in value.items()}
            out.setdefault("propertyOrdering", list(value))
        elif key == "items":
            out[key] = gemini_schema(value)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [gemini_schema(sub) for sub in value]
        else:
            out[key] = value
    return out


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "(value)": value}


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


def structured_changes(previous: Any, current: Any) -> list[str]:
    """What differs between two states, one phrase per changed field (dotted paths)."""
    before, after = _flatten(previous), _flatten(current)
    changes = []
    for path in list(before) + [p for p in after if p not in before]:
        old, new = before.get(path), after.get(path)
        # json.dumps equality: 1 == 1.0, but True != 1 and key order does not matter.
        if json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True) or (
            isinstance(old, int | float)
            and isinstance(new, int | float)
            and not isinstance(old, bool)
            and not isinstance(new, bool)
            and old == new
        ):
            continue
        changes.append(f"{path} changed from {_shown(old)} to {_shown(new)}")
    return changes


def summarize(changes: list[str]) -> str:
    shown = "; ".join(changes[:_CHANGES_SHOWN])
    more = len(changes) - _CHANGES_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")
