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
    gcpolicy.release()
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


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_what_survives_a_full_collection_is_frozen_and_the_thaw_frees_its_cycles(
        restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    gcpolicy.settle()
    later = _Node()  # a socket that connected after start-up
    gc.collect()
    assert not any(o is later for o in gc.get_objects())  # frozen: the next full collections do not walk it
    # A cycle that was alive at a full collection and became garbage afterwards waits for the thaw ...
    keep = [_Node(), _Node()]
    keep[0].other, keep[1].other = keep[1], keep[0]
    gone = weakref.ref(keep[0])
    gc.collect()
    del keep
    gc.collect()
    assert gone() is not None
    # ... which comes with the first full collection after THAW_EVERY: it walks everything and frees it.
    monkeypatch.setattr(gcpolicy, "THAW_EVERY", 0.0)
    gc.collect()
    assert gone() is None
    young = _cycle()  # garbage that never survived a full collection is collected as always
    gc.collect()
    assert young() is None
