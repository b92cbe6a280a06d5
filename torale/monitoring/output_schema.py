"""A task's `output_schema`: the JSON Schema its extracted state must follow.

Checked when the task is saved (both doors): a real JSON Schema (meta-validated by the
`jsonschema` package against the dialect it names, Draft 2020-12 by default), an
object at the root (the state is stored as an object), within the JSON limits of every
other JSON field, and self-contained: `$ref`/`$defs` are refused, because the schema is
embedded in the envelope the LLM answers with (where a local `#/...` pointer would name
the envelope) and so that validation never fetches anything.
"""

from __future__ import annotations

from typing import Any

from torale.errors import ValidationFailed
from torale.input_limits import check_json

LOC = ["body", "output_schema"]
# Keywords that would make the schema depend on something outside itself.
_REFERENCES = frozenset({"$ref", "$dynamicRef", "$recursiveRef", "$defs", "definitions"})
# Properties of all objects together: a schema the model can realistically fill.
MAX_PROPERTIES = 100


def _refuse(msg: str) -> ValidationFailed:
    return ValidationFailed.field(LOC, msg)


def validator_class(schema: dict[str, Any]) -> type[Any]:
    """The validator of the dialect `$schema` names (Draft 2020-12 when it names none)."""
    # Imported on first use: jsonschema costs the API ~3 MiB, and few requests carry a schema.
    from jsonschema import Draft202012Validator, validators

    return validators.validator_for(schema, default=Draft202012Validator)


def _walk(value: Any) -> tuple[bool, int]:
    """(uses a reference keyword, number of declared properties), iteratively."""
    references, properties = False, 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if _REFERENCES & item.keys():
                references = True
            declared = item.get("properties")
            if isinstance(declared, dict):
                properties += len(declared)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return references, properties


def check_output_schema(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse("Must be a JSON Schema object")
    check_json(LOC, value)
    from jsonschema import Draft202012Validator, SchemaError

    known = validator_class(value)
    if (
        "$schema" in value
        and known is Draft202012Validator
        and (value["$schema"] != Draft202012Validator.META_SCHEMA["$id"])
    ):
        # validator_for falls back to the default for a dialect it does not know.
        raise _refuse(f"Unknown JSON Schema dialect in $schema: {str(value['$schema'])[:100]}")
    try:
        known.check_schema(value)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise _refuse(
            f"Not a valid JSON Schema: {exc.message[:300]}" + (f" (at /{where})" if where else "")
        ) from None
    if value.get("type") != "object":
        raise _refuse('Must describe an object: the root needs "type": "object"')
    references, properties = _walk(value)
    if references:
        raise _refuse("$ref and $defs are not supported: write the schema inline")
    if properties > MAX_PROPERTIES:
        raise _refuse(f"Must declare at most {MAX_PROPERTIES} properties in all")
    return value
