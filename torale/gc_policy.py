"""The API process's garbage collector: start-up objects are kept out of its scans.

A full collection walks every tracked object. After start-up that is some 190,000
objects (modules, the schema, SQLAlchemy's and Strawberry's machinery), none of which
ever becomes garbage, and under load a full collection ran every few hundred requests
and took 0.3 s or more: a quarter of the server's CPU and its worst latencies
(bench/README.md). `gc.freeze()` moves everything alive now into the permanent
generation, which collections skip; what requests allocate is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect start-up's garbage, then freeze what is left; returns how many objects
    collections no longer scan."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
