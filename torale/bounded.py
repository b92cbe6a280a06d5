"""What a hot path works out once per key and keeps for the process, bounded.

Several paths keep a result per key: a cron's next fire time, a selection's written-out
loop, a datetime's text, an auth entry's parse. Keys repeat, so the hit path is a plain
`dict.get`; only a miss calls `remember`. Emptying the whole dict when it is full bounds
the memory without bookkeeping on every hit (an LRU would pay on each): more distinct
keys than the bound only cost the work every call paid before anything was kept.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(store: dict[K, V], key: K, value: V, most: int) -> V:
    """`store[key] = value`, after emptying `store` if it holds `most` entries already;
    returns `value`."""
    if len(store) >= most:
        store.clear()
    store[key] = value
    return value
