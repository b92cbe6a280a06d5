"""torale.bounded.remember: the one bound the process-wide per-key stores share."""

from __future__ import annotations

from torale.bounded import remember


def test_remember_keeps_each_value_until_the_store_is_full_then_starts_over():
    store: dict[str, int] = {}
    assert remember(store, "a", 1, most=2) == 1
    assert remember(store, "b", 2, most=2) == 2
    assert store == {"a": 1, "b": 2}

    # Full: the next key empties the store first, so it never holds more than `most`.
    assert remember(store, "c", 3, most=2) == 3
    assert store == {"c": 3}


def test_remember_replaces_a_key_it_holds_while_there_is_room():
    store = {"a": 1}
    remember(store, "a", 5, most=3)
    assert store == {"a": 5}
