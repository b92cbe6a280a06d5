"""The limits every request input obeys, declared once for both doors (REST and `/graphql`).

Two layers use them:

- `torale.graphql.input_guard` walks every input value of a request (REST variables,
  GraphQL variables and literals) before anything runs: no NUL (PostgreSQL cannot
  store it), no unpaired surrogate (not encodable as UTF-8), no string longer than
  `MAX_STRING_CHARS`, nothing nested deeper than `MAX_NESTING`.
- The domain validators (`torale.tasks.validation` and friends) hold each field to its
  own, tighter limit from this module, and every JSON field to `check_json`.

A JSON value's depth counts its containers: `{}` is 1, `{"a": [1]}` is 2. Its size is
its compact UTF-8 encoding. Both are decided without recursion, so a hostile value
costs one bounded walk and never a RecursionError.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from torale.errors import ValidationFailed

# Any string anywhere in a request; each field below has a tighter limit.
MAX_STRING_CHARS = 10_000
# JSON fields (task config, notifications, a draft's current_task).
JSON_MAX_DEPTH = 8
JSON_MAX_BYTES = 16 * 1024
# Any value in a request: JSON fields plus the input objects that carry them.
MAX_NESTING = JSON_MAX_DEPTH + 4
# A GraphQL document's brackets ({ [ ( ) nesting; selections are limited to 10 levels.
MAX_DOCUMENT_NESTING = 64

# Task fields (SPEC §5).
NAME_MAX = 200
TEXT_MIN, TEXT_MAX = 10, 500
SCHEDULE_MAX = 100
# Channels.
URL_MAX = 2048
HEADER_NAME_MAX = 256
HEADER_VALUE_MAX = 4096


def too_long(max_chars: int) -> str:
    return f"Must be at most {max_chars} characters"


def too_deep() -> str:
    return f"Must be nested at most {JSON_MAX_DEPTH} levels deep"


def json_depth(value: Any, stop_after: int = JSON_MAX_DEPTH) -> int:
    """Nesting depth of `value`, counted iteratively; stops once past `stop_after`."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > stop_after:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest


def check_json(loc: Sequence[str | int], value: Any) -> Any:
    """422 at `loc` unless `value` is within the JSON depth and size limits."""
    if json_depth(value) > JSON_MAX_DEPTH:
        raise ValidationFailed.field(loc, too_deep())
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    size = len(encoded.encode("utf-8", "surrogatepass"))
    if size > JSON_MAX_BYTES:
        raise ValidationFailed.field(loc, f"Must be at most {JSON_MAX_BYTES} bytes as JSON")
    return value


def check_length(loc: Sequence[str | int], value: str, max_chars: int) -> str:
    if len(value) > max_chars:
        raise ValidationFailed.field(loc, too_long(max_chars))
    return value
