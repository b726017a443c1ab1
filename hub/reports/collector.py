"""A pause of Python's cyclic garbage collector while a report turns its hundred thousand rows into columns.

The rows hold no reference cycles, so reference counting frees them all; but allocating that many containers makes
the cyclic collector scan the young generation again and again and promote survivors until it walks the whole heap,
about a fifth of a year-long report's CPU time on 100,000 tickets.  Reports interleave on the event loop (each
awaits its reads), so the pause is counted: the collector comes back when the last report holding it is done, and
only if it was on before."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_holders = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    global _holders, _was_enabled
    if _holders == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _holders += 1
    try:
        yield
    finally:
        _holders -= 1
        if _holders == 0 and _was_enabled:
            gc.enable()
