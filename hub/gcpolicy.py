"""The garbage collector's settings for a serving process (`hub serve`).

CPython's full (oldest-generation) collection walks every tracked object in the process.  In a started hub that
is ~170,000 objects from imports, config and caches, plus those of every connected socket; one full collection
measured 120-250 ms of CPU with 1,000 chat customers, and the default thresholds ran one every 3-5 s under load,
each stopping the event loop, so it was the largest single cause of the p99 tail (BENCHMARKS.md, issue 15).

After start-up, `settle` moves every object that exists into the permanent generation, which collections never
walk (those objects live as long as the process; freed by reference counting they are still freed), and spaces
full collections ten times further apart.  The young generations keep their default thresholds: their pauses are
a few milliseconds, and raising them was measured to lengthen each pause more than it saves.

Imports: only the standard library.
"""
from __future__ import annotations

import gc

# Collections of the middle generation between two full collections (CPython's default is 10).  Cyclic garbage
# that lived long enough to reach the oldest generation waits longer to be freed; everything younger is collected
# as before.
FULL_EVERY = 100


def settle() -> None:
    """Once the process has started (routes built, hub started): collect what start-up left behind, then freeze
    everything still alive and space full collections out."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)
