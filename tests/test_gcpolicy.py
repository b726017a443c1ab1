"""hub.gcpolicy: what a started `hub serve` does to the garbage collector."""
from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from hub import gcpolicy


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture()
def restored() -> Iterator[None]:
    """The test process's collector as it was: nothing stays frozen, the thresholds come back."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_what_lives_and_spaces_full_collections(restored: None) -> None:
    before = gc.get_freeze_count()
    alive = _Node()
    gcpolicy.settle()
    assert gc.get_freeze_count() > before
    assert not any(o is alive for o in gc.get_objects())  # in the permanent generation, which collections skip
    assert gc.get_threshold()[2] == gcpolicy.FULL_EVERY


def test_cycles_made_after_settle_are_still_collected(restored: None) -> None:
    gcpolicy.settle()
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
