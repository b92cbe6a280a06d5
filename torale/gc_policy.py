"""The API process's garbage collector: start-up objects are kept out of its scans, and
young objects are collected less often.

A full collection walks every tracked object. After start-up that is some 190,000
objects (modules, the schema, SQLAlchemy's and Strawberry's machinery), none of which
ever becomes garbage, and under load a full collection ran every few hundred requests
and took 0.3 s or more: a quarter of the server's CPU and its worst latencies
(bench/README.md). `gc.freeze()` moves everything alive now into the permanent
generation, which collections skip; what requests allocate is collected as before.

Then the young generation: a request leaves ~120 objects in reference cycles (GraphQL
execution contexts, sessions), and with CPython's default threshold (700) a young
collection ran every few requests under load. Each one walks the objects of every
request still in flight, promotes them, and the older generations then walk them
again: about 0.6 ms of CPU per request (a third of a REST list's CPU) and 50-150 ms
collections in the latency tail. At 10,000 most of a request's objects are gone by
the next collection: GC CPU per request halves, young collections take ~5 ms, and the
heap after a load run holds ~2 MiB more (README, "What the API process loads").
"""

from __future__ import annotations

import gc

# (young, middle, old): a young collection once allocations exceed deallocations by
# 10,000 container objects (CPython: 700); the others keep CPython's ratios.
SERVING_THRESHOLDS = (10_000, 10, 10)


def freeze_startup_objects() -> int:
    """Collect start-up's garbage, then freeze what is left; returns how many objects
    collections no longer scan."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def collect_less_often() -> tuple[int, int, int]:
    """Set the serving thresholds; returns the ones they replace."""
    previous = gc.get_threshold()
    gc.set_threshold(*SERVING_THRESHOLDS)
    return previous
