"""Python's cycle collector paused around bulk steps that allocate millions of small containers.

The collector runs after every few hundred new containers and, as they pile up, rescans every object the
process holds. A bulk step that builds a million small lists (profile interests, segment labels) and makes
no reference cycles paid for that many times over: a third of a profile rebuild, four fifths of loading
100,000 profiles for clustering. Reference counting still frees everything the step drops.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Disable the cycle collector inside the block (as it was after it, even on an error)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
