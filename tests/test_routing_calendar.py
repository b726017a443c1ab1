"""Business-hours calendar with frozen datetimes: midnight, weekends, holidays, DST and half-hour offsets."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hub.config import BusinessHours
from routing.calendar import BusinessCalendar, ClosedCalendarError

BKK = ZoneInfo("Asia/Bangkok")
THR = ZoneInfo("Asia/Tehran")
LON = ZoneInfo("Europe/London")
WEEKDAYS_9_18 = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def cal(tz: str, weekly: dict[str, list[str]] | None = None, holidays: list[date] | None = None) -> BusinessCalendar:
    return BusinessCalendar(BusinessHours(tz=tz, weekly=weekly or WEEKDAYS_9_18, holidays=holidays or []))


def test_bangkok_friday_evening_rolls_over_weekend() -> None:
    c = cal("Asia/Bangkok")
    fri_17 = datetime(2024, 3, 1, 17, 0, tzinfo=BKK)  # a Friday
    due = c.add_business_time(fri_17, timedelta(hours=2))
    assert due == datetime(2024, 3, 4, 10, 0, tzinfo=BKK)
    assert due.tzinfo == timezone.utc
    assert c.business_time_between(fri_17, due) == timedelta(hours=2)


def test_weekend_is_closed_and_next_open_is_monday() -> None:
    c = cal("Asia/Bangkok")
    sat = datetime(2024, 3, 2, 12, 0, tzinfo=BKK)
    assert not c.is_open(sat)
    assert c.next_open(sat) == datetime(2024, 3, 4, 9, 0, tzinfo=BKK)
    assert c.is_open(datetime(2024, 3, 4, 9, 0, tzinfo=BKK))
    assert not c.is_open(datetime(2024, 3, 4, 18, 0, tzinfo=BKK))  # the end is exclusive


def test_holiday_skipped() -> None:
    c = cal("Asia/Bangkok", holidays=[date(2024, 4, 15)])  # Songkran Monday
    fri = datetime(2024, 4, 12, 17, 0, tzinfo=BKK)
    assert c.add_business_time(fri, timedelta(hours=3)) == datetime(2024, 4, 16, 11, 0, tzinfo=BKK)
    assert not c.is_open(datetime(2024, 4, 15, 10, 0, tzinfo=BKK))


def test_span_across_midnight_is_continuous() -> None:
    c = cal("Asia/Bangkok", {"mon": ["22:00-24:00"], "tue": ["00:00-02:00"]})
    start = datetime(2024, 3, 4, 23, 0, tzinfo=BKK)
    assert c.add_business_time(start, timedelta(hours=2)) == datetime(2024, 3, 5, 1, 0, tzinfo=BKK)
    assert c.is_open(datetime(2024, 3, 5, 0, 0, tzinfo=BKK))
    # Past the end of the night shift: next Monday 22:00 plus the remaining 30 minutes.
    late = datetime(2024, 3, 5, 1, 30, tzinfo=BKK)
    assert c.add_business_time(late, timedelta(hours=1)) == datetime(2024, 3, 11, 22, 30, tzinfo=BKK)
    assert c.business_time_between(
        datetime(2024, 3, 4, 20, 0, tzinfo=BKK), datetime(2024, 3, 5, 3, 0, tzinfo=BKK)
    ) == timedelta(hours=4)


def test_tehran_half_hour_offset() -> None:
    c = cal("Asia/Tehran", {d: ["08:30-16:30"] for d in ("sat", "sun", "mon", "tue", "wed")})
    # Wednesday 16:00 Tehran = 12:30 UTC: 30 minutes left, then Thursday/Friday are the weekend.
    wed = datetime(2024, 2, 7, 12, 30, tzinfo=timezone.utc)
    due = c.add_business_time(wed, timedelta(hours=1))
    assert due == datetime(2024, 2, 10, 9, 0, tzinfo=THR)
    assert due == datetime(2024, 2, 10, 5, 30, tzinfo=timezone.utc)
    assert not c.is_open(datetime(2024, 2, 8, 10, 0, tzinfo=THR))  # Thursday


def test_london_spring_forward_shortens_the_night_shift() -> None:
    c = cal("Europe/London", {"sun": ["00:00-04:00"]})
    start = datetime(2024, 3, 31, 0, 0, tzinfo=LON)  # clocks jump 01:00 -> 02:00
    assert c.business_time_between(start, start + timedelta(days=1)) == timedelta(hours=3)
    assert c.add_business_time(start, timedelta(hours=3)) == datetime(2024, 3, 31, 4, 0, tzinfo=LON)


def test_london_autumn_back_lengthens_it_and_day_spans_keep_wall_clock() -> None:
    night = cal("Europe/London", {"sun": ["00:00-04:00"]})
    start = datetime(2024, 10, 27, 0, 0, tzinfo=LON)  # clocks fall back 02:00 -> 01:00
    assert night.business_time_between(start, start + timedelta(days=1)) == timedelta(hours=5)
    day = cal("Europe/London")
    fri = datetime(2024, 10, 25, 17, 0, tzinfo=LON)  # BST
    assert day.add_business_time(fri, timedelta(hours=2)) == datetime(2024, 10, 28, 10, 0, tzinfo=LON)  # GMT


def test_zero_duration_waits_for_opening_and_naive_is_refused() -> None:
    c = cal("Asia/Bangkok")
    sat = datetime(2024, 3, 2, 12, 0, tzinfo=BKK)
    assert c.add_business_time(sat, timedelta(0)) == datetime(2024, 3, 4, 9, 0, tzinfo=BKK)
    with pytest.raises(ValueError, match="timezone-aware"):
        c.add_business_time(datetime(2024, 3, 2, 12, 0), timedelta(hours=1))
    with pytest.raises(ValueError):
        c.add_business_time(sat, timedelta(hours=-1))


def test_between_is_signed_and_always_calendar_counts_wall_clock() -> None:
    c = cal("Asia/Bangkok")
    a, b = datetime(2024, 3, 4, 10, 0, tzinfo=BKK), datetime(2024, 3, 5, 10, 0, tzinfo=BKK)
    assert c.business_time_between(a, b) == timedelta(hours=9)
    assert c.business_time_between(b, a) == -timedelta(hours=9)
    always = BusinessCalendar.always()
    assert always.add_business_time(a, timedelta(hours=30)) == a + timedelta(hours=30)
    assert always.business_time_between(a, b) == timedelta(hours=24)


def test_calendar_with_no_hours_raises() -> None:
    c = cal("Asia/Bangkok", {"mon": []})
    with pytest.raises(ClosedCalendarError):
        c.add_business_time(datetime(2024, 3, 4, 10, 0, tzinfo=BKK), timedelta(hours=1))
    assert c.business_time_between(
        datetime(2024, 3, 4, 10, 0, tzinfo=BKK), datetime(2024, 3, 5, 10, 0, tzinfo=BKK)
    ) == timedelta(0)


# -- the day tables against the interval walk they replace ------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CALENDARS = {
    "bangkok 9-18": lambda: cal("Asia/Bangkok", holidays=[date(2024, 4, 15), date(2024, 4, 16)]),
    "tehran half-hour": lambda: cal("Asia/Tehran", {d: ["08:30-16:30"] for d in ("sat", "sun", "mon", "tue", "wed")}),
    "london night shift over DST": lambda: cal("Europe/London", {"sun": ["00:00-04:00"], "sat": ["22:00-24:00"]}),
    "london split days": lambda: cal("Europe/London", {d: ["08:00-12:00", "13:00-17:30"] for d in ("mon", "wed", "fri")}),
    "new york round the clock": lambda: cal("America/New_York", {d: ["00:00-24:00"] for d in
                                                                 ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}),
    "one evening a week": lambda: cal("Asia/Bangkok", {"thu": ["20:00-21:00"]}),
}
_BUILT = {name: make() for name, make in _CALENDARS.items()}
# Around both of Europe's 2024 DST changes, the Songkran holidays and a year's end.
_MOMENTS = st.datetimes(min_value=datetime(2024, 3, 20), max_value=datetime(2025, 1, 10), timezones=st.just(timezone.utc))
_DURATIONS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(_CALENDARS)), at=_MOMENTS, duration=_DURATIONS, later=_DURATIONS)
def test_day_tables_answer_as_the_interval_walk(name: str, at: datetime, duration: timedelta, later: timedelta) -> None:
    c = _BUILT[name]
    assert c.add_business_time(at, duration) == c._walk_business_time(at, duration)
    b = at + later * 3  # past the table's sixty days now and then, where the walk answers
    assert c.business_time_between(at, b) == c._walk_between(at, b)
    first, _ = next(c.intervals(at))
    assert c.is_open(at) == (first <= at)
    assert c.next_open(at) == max(first, at)
    assert c.add_business_time(at, duration).tzinfo == timezone.utc


def test_tables_agree_at_interval_edges() -> None:
    c = _BUILT["london split days"]
    for t in (datetime(2024, 10, 28, 12, 0, tzinfo=LON), datetime(2024, 10, 28, 13, 0, tzinfo=LON),
              datetime(2024, 10, 28, 17, 30, tzinfo=LON), datetime(2024, 10, 28, 8, 0, tzinfo=LON)):
        for d in (timedelta(0), timedelta(hours=4), timedelta(hours=4, minutes=30), timedelta(hours=8, minutes=30)):
            assert c.add_business_time(t, d) == c._walk_business_time(t, d), (t, d)
    # Monday 08:00 + 4 h ends exactly at the lunch break: the end of the morning, not the start of the afternoon.
    assert c.add_business_time(datetime(2024, 10, 28, 8, 0, tzinfo=LON), timedelta(hours=4)) == datetime(
        2024, 10, 28, 12, 0, tzinfo=LON)
    # A calendar that never opens has an empty table; the walk still says so.
    never = cal("Asia/Bangkok", {"mon": []})
    with pytest.raises(ClosedCalendarError):
        never.next_open(datetime(2024, 3, 4, 10, 0, tzinfo=BKK))
