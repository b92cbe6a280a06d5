"""The auth cache's entries as read back from Redis, parsed once per distinct text.

Every authenticated request gets its entry's text from Redis and, before this, parsed
it again: the JSON, the user's id and the key's id as UUIDs (about a tenth of the
auth step's CPU). The text of one identity is the same bytes on every request until
its epoch or its columns change, so the parse is kept per text. Nothing is decided
from what is kept: the key is the whole text Redis answered with for this request
(its epoch included), and the parse is a function of that text alone. A changed
identity or a new epoch is a new text, parsed afresh; the caller still compares the
entry's epoch with the one Redis answered, as before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from torale.bounded import remember

# Distinct texts kept: one per identity recently served. Past it, start over (a
# burst of identities only costs a parse each, as every request used to).
KEPT_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    epoch: str
    # The user's columns as stored; read, never changed (`StoredUser.load` validates a
    # new `User` from them for each request that needs one).
    user_columns: dict[str, Any]
    user_id: uuid.UUID
    api_key_id: uuid.UUID | None


_parsed: dict[bytes, ParsedEntry] = {}


def parsed_entry(raw: bytes) -> ParsedEntry:
    """`raw` (an entry's text, as Redis holds it) parsed."""
    found = _parsed.get(raw)
    if found is not None:
        return found
    entry = orjson.loads(raw)
    columns = entry["user"]
    key_id = entry["api_key_id"]
    found = ParsedEntry(
        epoch=entry["epoch"],
        user_columns=columns,
        user_id=uuid.UUID(columns["id"]),
        api_key_id=uuid.UUID(key_id) if key_id else None,
    )
    return remember(_parsed, bytes(raw), found, KEPT_ENTRIES)
