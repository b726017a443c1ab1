"""The collector pause reports take while they build their columns: shared by interleaved reports, and never
switching on a collector somebody else switched off."""
from __future__ import annotations

import gc
from contextlib import ExitStack

from hub.reports import collector


def test_interleaved_reports_share_one_pause() -> None:
    assert gc.isenabled()
    first, second = ExitStack(), ExitStack()
    first.enter_context(collector.paused())
    assert not gc.isenabled()
    second.enter_context(collector.paused())
    first.close()  # the first report ends while the second still builds
    assert not gc.isenabled()
    second.close()
    assert gc.isenabled()


def test_a_collector_switched_off_elsewhere_stays_off() -> None:
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_still_ends_the_pause() -> None:
    try:
        with collector.paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
