"""Times in events and API answers (hub.serialize.iso): the text of `isoformat`, whether or not it was made before."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from hub import serialize


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=3, minutes=30)), ZoneInfo("Asia/Bangkok"), ZoneInfo("Asia/Tehran")])))
@settings(max_examples=300, deadline=None)
def test_a_time_reads_as_its_isoformat_the_first_time_and_after(at: datetime) -> None:
    assert serialize.iso(at) == at.isoformat()
    assert serialize.iso(at) == at.isoformat()
    # The same instant in another zone keeps its own offset, though it equals the one remembered.
    there = at.astimezone(ZoneInfo("America/New_York")) if at.year > 1 else at
    assert serialize.iso(there) == there.isoformat()
    assert serialize.iso(at.replace(microsecond=0)) == at.replace(microsecond=0).isoformat()


def test_no_time_is_none_and_the_remembered_times_stay_few() -> None:
    assert serialize.iso(None) is None
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for k in range(serialize._KEEP * 2 + 3):
        at = start + timedelta(seconds=k)
        assert serialize.iso(at) == at.isoformat()
    assert len(serialize._TEXT) <= serialize._KEEP
