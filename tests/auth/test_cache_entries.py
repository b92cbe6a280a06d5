"""The auth cache's entries are parsed once per distinct text, never reused across texts."""

from __future__ import annotations

import uuid

import orjson

from torale.auth import cache_entries
from torale.auth.cache_entries import KEPT_ENTRIES, parsed_entry


def _entry(epoch: str, user_id: uuid.UUID, key_id: uuid.UUID | None, role: str = "user") -> bytes:
    return orjson.dumps(
        {
            "epoch": epoch,
            "api_key_id": str(key_id) if key_id else None,
            "user": {"id": str(user_id), "role": role, "email": "a@example.com"},
            "rate_limit_identity": f"key:{key_id}",
        }
    )


def test_the_same_text_is_parsed_once() -> None:
    user_id, key_id = uuid.uuid4(), uuid.uuid4()
    raw = _entry("7", user_id, key_id)
    first = parsed_entry(raw)
    assert (first.epoch, first.user_id, first.api_key_id) == ("7", user_id, key_id)
    assert first.user_columns["role"] == "user"
    assert parsed_entry(bytes(raw)) is first


def test_a_changed_text_is_parsed_afresh() -> None:
    user_id, key_id = uuid.uuid4(), uuid.uuid4()
    before = parsed_entry(_entry("7", user_id, key_id))
    # A new epoch, then a changed column (say a promotion): each its own parse.
    bumped = parsed_entry(_entry("8", user_id, key_id))
    promoted = parsed_entry(_entry("8", user_id, key_id, role="admin"))
    assert (before.epoch, bumped.epoch) == ("7", "8")
    assert (bumped.user_columns["role"], promoted.user_columns["role"]) == ("user", "admin")
    jwt_entry = parsed_entry(_entry("8", user_id, None))
    assert jwt_entry.api_key_id is None


def test_what_is_kept_is_bounded() -> None:
    for _ in range(KEPT_ENTRIES + 10):
        parsed_entry(_entry("1", uuid.uuid4(), uuid.uuid4()))
    assert len(cache_entries._parsed) <= KEPT_ENTRIES
