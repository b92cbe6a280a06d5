"""The base of every REST request body: strict, and closed to unknown fields.

- `extra="forbid"`: a field the API does not know is a 422 naming it (`["body",
  "is_active"]`, "Extra inputs are not permitted"), never silently dropped, so a
  client's typo or an old SDK's field cannot look like a successful change.
- `strict=True`: JSON types as documented; `"true"` or `1` is not a boolean.

`documented(...)` attaches constraints to a field for the OpenAPI document only: the
domain enforces them (one message for both doors, REST and `/graphql`), and the
schemathesis run (tests/fuzz) holds the two to each other.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def documented(schema: dict[str, Any], *, drop_default: bool = False) -> Any:
    """A `json_schema_extra` that merges `schema` into the field's generated schema.

    `drop_default`: the field's Python default (None for "not given" in a partial
    update) is not a value a client may send, so it must not be documented as one.
    """

    def extra(field_schema: dict[str, Any]) -> None:
        if drop_default:
            field_schema.pop("default", None)
        # `str | None`: the constraints belong to the string, not to null.
        branches = [b for b in field_schema.get("anyOf", ()) if b.get("type") != "null"]
        (branches[0] if len(branches) == 1 else field_schema).update(schema)

    return extra
