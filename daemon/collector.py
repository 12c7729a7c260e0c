"""Pausing the garbage collector's automatic passes around bounded bursts of allocation.

A full (generation 2) collection walks every tracked object that is not frozen and holds the GIL while it
does, so every thread of the daemon waits: the main loop included. During a sync (10,000 parsed flows, all
alive until it ends) or a scheduler burst (1,000 ticks) a pass can free nothing of what is being built,
only stall; so those bursts run with automatic collection paused, and what they leave alive is frozen
afterwards (``gc.freeze`` in ``server/process.py``). Cyclic garbage made meanwhile by other threads waits
for the next pass, a few seconds at most.

Several threads may pause at once (the sync's worker thread and the engine thread): a count under a lock
makes the last one out restore what the first one in found.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection within the block (explicit ``gc.collect()`` still works)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
