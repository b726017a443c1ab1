"""The garbage collector's settings for a serving process (`hub serve`).

CPython's full (oldest-generation) collection walks every tracked object in the process.  In a started hub that
is ~170,000 objects from imports, config and caches, plus those of every connected socket; one full collection
measured 120-250 ms of CPU with 1,000 chat customers, and the default thresholds ran one every 3-5 s under load,
each stopping the event loop, so it was the largest single cause of the p99 tail (BENCHMARKS.md, issue 15).

After start-up, `settle` moves every object that exists into the permanent generation, which collections never
walk (those objects live as long as the process; freed by reference counting they are still freed), and spaces
full collections ten times further apart.  The young generations keep their default thresholds: their pauses are
a few milliseconds, and raising them was measured to lengthen each pause more than it saves.

What lives on after start-up grows too: 10,000 connected idle customers made each full collection walk their
sockets again, 120 ms with the loop stopped, every ~10 s.  So what survives a full collection joins the permanent
generation as well (right after it, when the young generations are empty: nothing short-lived is caught), and a
full collection walks only what arrived since.  Cyclic garbage among those survivors (a socket that closes later)
waits for the thaw: every THAW_EVERY seconds one full collection walks everything again and frees it.

Imports: only the standard library.
"""
from __future__ import annotations

import gc
import time

# Collections of the middle generation between two full collections (CPython's default is 10).  Cyclic garbage
# that lived long enough to reach the oldest generation waits longer to be freed; everything younger is collected
# as before.
FULL_EVERY = 100
THAW_EVERY = 600.0

_thawed_at = 0.0


def _after_full(phase: str, info: dict[str, int]) -> None:
    """gc callback: thaw before a full collection once THAW_EVERY has passed; freeze its survivors after it."""
    global _thawed_at
    if info.get("generation") != 2:
        return
    if phase == "start":
        now = time.monotonic()
        if now - _thawed_at >= THAW_EVERY:
            _thawed_at = now
            gc.unfreeze()  # this collection walks everything, and frees cycles among long-lived objects
    else:
        gc.freeze()


def settle() -> None:
    """Once the process has started (routes built, hub started): collect what start-up left behind, then freeze
    everything still alive and space full collections out."""
    global _thawed_at
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)
    _thawed_at = time.monotonic()
    if _after_full not in gc.callbacks:
        gc.callbacks.append(_after_full)


def release() -> None:
    """Undo `settle`'s lasting part (the callback) and thaw: for tests that share one process."""
    if _after_full in gc.callbacks:
        gc.callbacks.remove(_after_full)
    gc.unfreeze()
