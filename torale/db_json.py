"""Decoding JSON/JSONB columns: orjson where it is exact, the stdlib where it is not.

Decoding JSONB with `json.loads` was ~11% of busy time on `GET /api/v1/tasks`.
orjson is several times faster but not a drop-in: it turns integers beyond 64 bits
into floats (silently losing digits, and a task's config may hold such integers;
PostgreSQL keeps them exact) and refuses numbers like 1e400 that the stdlib reads
as inf. Such an integer always becomes a float of magnitude >= 2**63, so a value
holding one (or a genuine float that large, rare) is decoded again with `json.loads`,
as is text orjson rejects: the answer is always what `json.loads` would give.
(A regex pre-scan for long digit runs was tried; it cost more than `json.loads`.)

Only decoding changes: encoding stays with the stdlib, since orjson refuses the same
big integers on the way in.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_BEYOND_64_BITS = float(2**63)


def _may_hold_a_rounded_integer(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, float) and not -_BEYOND_64_BITS < item < _BEYOND_64_BITS:
            return True
    return False


# An integer orjson rounds has 20 digits at least (beyond 2**64 - 1, or below -2**63
# with its sign), so a shorter text holds none: the common small values (`{}`, `[]`,
# `{"a": 1}`) skip the scan. A short text can still hold a float of 2**63 or more
# (`1e19`): both parsers read it as the same float.
_SHORTEST_ROUNDED = 20


def loads_json_column(text: str) -> Any:
    """The value of a JSON/JSONB column, exactly as `json.loads(text)` would give it."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    if len(text) >= _SHORTEST_ROUNDED and _may_hold_a_rounded_integer(value):
        return json.loads(text)
    return value
