"""Business-hours calendar: when a department is open, and SLA clocks counted in open time only.

Weekly spans are local wall-clock times in the calendar's zone; each local day's spans are turned into UTC
intervals through zoneinfo, so a DST change (Europe/London) shortens or lengthens that day's open time by the real
amount, half-hour offsets (Asia/Tehran) need nothing special, and "22:00-24:00" followed by the next day's
"00:00-02:00" is one continuous stretch across midnight. Holidays close the whole local date. Every input must be
timezone-aware; every result is in UTC. Imports hub.config only.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from hub.config import WEEKDAYS, BusinessHours

UTC = timezone.utc
_ZERO = timedelta(0)
# A calendar with no open hour in this many days is treated as never open (all days holidays, empty week).
_SEARCH_DAYS = 800
_MAX_MERGE = timedelta(days=7)
# The open intervals of a day's table reach this far ahead of its midnight: further than any SLA target asks for
# in practice (five business days of 9-18 span a week); a question past it takes the interval walk instead.
_TABLE_DAYS = 60
_ONE_DAY = timedelta(days=1)


class ClosedCalendarError(ValueError):
    """The calendar has no open time ahead, so a business-time deadline cannot be computed."""


def _aware(at: datetime, name: str = "datetime") -> datetime:
    if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _parse_span(span: str) -> tuple[time, bool, time, bool]:
    """'09:00-18:00' -> (start, start_is_midnight_next, end, end_is_midnight_next); 24:00 means next midnight."""
    start, end = span.split("-")

    def one(hhmm: str) -> tuple[time, bool]:
        h, m = int(hhmm[:2]), int(hhmm[3:])
        return (time(0, 0), True) if h == 24 else (time(h, m), False)

    return (*one(start), *one(end))


@dataclass(frozen=True, slots=True)
class _Table:
    """The open intervals from one UTC midnight (`day`) on, for `_TABLE_DAYS`, with the open time before each.

    Every new ticket asks its calendar four to seven questions (is it open, two deadlines, two warnings), each a
    walk over intervals built through the zone; the table answers them with a binary search instead.
    """

    day: datetime
    next_day: datetime
    starts: tuple[datetime, ...]
    ends: tuple[datetime, ...]
    before: tuple[timedelta, ...]  # open time from `day` to starts[i]
    through: tuple[timedelta, ...]  # open time from `day` to ends[i]

    def first(self, at: datetime) -> int | None:
        """Index of the first interval ending after `at`, None when `at` is past the table."""
        i = bisect_right(self.ends, at)
        return i if i < len(self.ends) else None

    def open_at(self, i: int, at: datetime) -> timedelta:
        """Open time from `day` to `at`, where interval `i` is the first that ends after `at`."""
        return self.before[i] + max(at - self.starts[i], _ZERO)

    def open_before(self, at: datetime) -> timedelta | None:
        i = self.first(at)
        return None if i is None else self.open_at(i, at)


class BusinessCalendar:
    """Open hours of one zone. `BusinessCalendar.always()` is the 24/7 calendar for wall-clock SLA targets."""

    def __init__(self, hours: BusinessHours | None = None) -> None:
        self.hours = hours or BusinessHours()
        self.zone = ZoneInfo(self.hours.tz)
        self._holidays = frozenset(self.hours.holidays)
        self._weekly = {day: tuple(_parse_span(s) for s in spans) for day, spans in self.hours.weekly.items()}
        self._always = False
        self._day_intervals = lru_cache(maxsize=512)(self._compute_day)
        self._tables = lru_cache(maxsize=8)(self._compute_table)
        self._today: _Table | None = None

    @classmethod
    def always(cls) -> BusinessCalendar:
        return _always_calendar()

    def __repr__(self) -> str:
        return "BusinessCalendar.always()" if self._always else f"BusinessCalendar(tz={self.hours.tz!r})"

    # -- intervals -----------------------------------------------------------------------------------------------
    def _local(self, day: date, at: time, next_day: bool) -> datetime:
        d = day + timedelta(days=1) if next_day else day
        # fold=0: a wall time that happens twice (autumn DST) means its first occurrence; one that does not
        # happen (spring gap) is read with the offset before the change, i.e. the moment the clocks jumped past.
        return datetime.combine(d, at, tzinfo=self.zone).astimezone(UTC)

    def _compute_day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        if day in self._holidays:
            return ()
        out = []
        for start, s_next, end, e_next in self._weekly.get(WEEKDAYS[day.weekday()], ()):
            a, b = self._local(day, start, s_next), self._local(day, end, e_next)
            if b > a:
                out.append((a, b))
        return tuple(sorted(out))

    def intervals(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (UTC, merged where they touch) that end after `since`, in order; endless."""
        since = _aware(since, "since")
        if self._always:
            # One interval per day keeps the arithmetic below uniform and fast.
            day = datetime(since.year, since.month, since.day, tzinfo=UTC)
            while True:
                yield max(day, since), day + timedelta(days=1)
                day += timedelta(days=1)
        day = since.astimezone(self.zone).date() - timedelta(days=1)
        pending: tuple[datetime, datetime] | None = None
        empty_days = 0
        while True:
            spans = self._day_intervals(day)
            empty_days = 0 if spans else empty_days + 1
            if empty_days > _SEARCH_DAYS:
                if pending and pending[1] > since:
                    yield pending
                raise ClosedCalendarError(f"calendar {self.hours.tz} has no open hours in {_SEARCH_DAYS} days")
            for a, b in spans:
                # Merge touching spans, but not without end: a desk open round the clock would never yield.
                if pending and a <= pending[1] and pending[1] - pending[0] < _MAX_MERGE:
                    pending = (pending[0], max(pending[1], b))
                    continue
                if pending and pending[1] > since:
                    yield max(pending[0], since), pending[1]
                pending = (a, b)
            day += timedelta(days=1)

    def _compute_table(self, day: datetime) -> _Table:
        starts: list[datetime] = []
        ends: list[datetime] = []
        horizon = day + timedelta(days=_TABLE_DAYS)
        try:
            for a, b in self.intervals(day):
                if a > horizon:
                    break
                starts.append(a)
                ends.append(b)
        except ClosedCalendarError:
            pass  # no open time (further) ahead: the walk answers questions past the table, and raises
        before, through, total = [], [], _ZERO
        for a, b in zip(starts, ends):
            before.append(total)
            total += b - a
            through.append(total)
        return _Table(day, day + _ONE_DAY, tuple(starts), tuple(ends), tuple(before), tuple(through))

    def _table(self, at: datetime) -> _Table:
        """The table of the UTC day `at` (aware, UTC) falls on."""
        t = self._today
        if t is None or not t.day <= at < t.next_day:
            # Questions come in arrival order, nearly all about today: the lookup below is for the others.
            t = self._today = self._tables(datetime(at.year, at.month, at.day, tzinfo=UTC))
        return t

    # -- queries -------------------------------------------------------------------------------------------------
    def _next_start(self, at: datetime) -> datetime:
        """Start of the first open interval that ends after `at` (aware, UTC)."""
        t = self._table(at)
        i = t.first(at)
        return t.starts[i] if i is not None else next(self.intervals(at))[0]

    def is_open(self, at: datetime) -> bool:
        at = _aware(at, "at")
        return self._next_start(at) <= at

    def next_open(self, at: datetime) -> datetime:
        """`at` itself (in UTC) when open, else the start of the next open interval."""
        at = _aware(at, "at")
        return max(self._next_start(at), at)

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of open time after `start` has elapsed (UTC).

        A zero duration gives the next open moment: a ticket that arrives at night is due when the desk opens.
        """
        start = _aware(start, "start")
        if duration < _ZERO:
            raise ValueError("duration must not be negative")
        if self._always:
            return start + duration
        t = self._table(start)
        i = t.first(start)
        if i is not None:
            target = t.open_at(i, start) + duration
            j = bisect_left(t.through, target, lo=i)
            if j < len(t.through):
                return t.starts[j] + (target - t.before[j])
        return self._walk_business_time(start, duration)

    def _walk_business_time(self, start: datetime, duration: timedelta) -> datetime:
        remaining = duration
        for a, b in self.intervals(start):
            a = max(a, start)
            if remaining <= b - a:
                return a + remaining
            remaining -= b - a
        raise AssertionError("unreachable: intervals() is endless or raises")

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Open time from `a` to `b`; negative when `b` is before `a`."""
        a, b = _aware(a, "a"), _aware(b, "b")
        if b < a:
            return -self.business_time_between(b, a)
        if self._always:
            return b - a
        t = self._table(a)
        open_a, open_b = t.open_before(a), t.open_before(b)
        if open_a is not None and open_b is not None:
            return open_b - open_a
        return self._walk_between(a, b)

    # The two walks over intervals(): the definition the tables must agree with (tests/test_routing_calendar.py),
    # and the answer for questions past a table or on a calendar that closes for good.
    def _walk_between(self, a: datetime, b: datetime) -> timedelta:
        total = _ZERO
        try:
            for s, e in self.intervals(a):
                if s >= b:
                    break
                total += min(e, b) - max(s, a)
        except ClosedCalendarError:
            pass  # no open time ahead: what was counted so far is all there is
        return total


@lru_cache(maxsize=1)
def _always_calendar() -> BusinessCalendar:
    # One shared instance: wall-clock SLA policies ask for it on every ticket, and it never changes.
    cal = BusinessCalendar(BusinessHours(tz="UTC", weekly={d: ["00:00-24:00"] for d in WEEKDAYS}, holidays=[]))
    cal._always = True
    return cal
