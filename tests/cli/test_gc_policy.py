"""`torale api` freezes what start-up built, so full collections skip it
(`torale.gc_policy`)."""

from __future__ import annotations

import gc
import weakref

from torale.gc_policy import freeze_startup_objects


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_start_up_garbage_is_collected_then_the_rest_frozen():
    garbage = _Cycle()
    gone = weakref.ref(garbage)
    del garbage
    try:
        frozen = freeze_startup_objects()
        # Collected before freezing, not kept forever in the permanent generation.
        assert gone() is None
        assert frozen == gc.get_freeze_count() > 0
        # What requests allocate later is collected as usual.
        later = _Cycle()
        collected_later = weakref.ref(later)
        del later
        gc.collect()
        assert collected_later() is None
    finally:
        gc.unfreeze()
