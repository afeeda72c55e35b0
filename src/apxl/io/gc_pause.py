"""Pausing Python's cycle collector while millions of cell values are built (they hold no reference cycles).

Reading a year of attendance creates 800,000 row lists and four million cell values. Each of them counts
toward the collector's next run, and every full run walks all of them again: on the LA benchmark that was
over a second of a 1.5 s read, and none of it freed anything, because lists of strings and dates cannot
form cycles. The pause is counted, so overlapping pauses (the prefetch thread and the reader) end together.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cycle collector off (unless another pause is on), restoring it afterwards."""
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
