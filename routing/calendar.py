"""Business-hours calendar: when a department is open, and SLA clocks counted in open time only.

Weekly spans are local wall-clock times in the calendar's zone; each local day's spans are turned into UTC
intervals through zoneinfo, so a DST change (Europe/London) shortens or lengthens that day's open time by the real
amount, half-hour offsets (Asia/Tehran) need nothing special, and "22:00-24:00" followed by the next day's
"00:00-02:00" is one continuous stretch across midnight. Holidays close the whole local date. Every input must be
timezone-aware; every result is in UTC. Imports hub.config only.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from hub.config import WEEKDAYS, BusinessHours

UTC = timezone.utc
_ZERO = timedelta(0)
# A calendar with no open hour in this many days is treated as never open (all days holidays, empty week).
_SEARCH_DAYS = 800
_MAX_MERGE = timedelta(days=7)


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


class BusinessCalendar:
    """Open hours of one zone. `BusinessCalendar.always()` is the 24/7 calendar for wall-clock SLA targets."""

    def __init__(self, hours: BusinessHours | None = None) -> None:
        self.hours = hours or BusinessHours()
        self.zone = ZoneInfo(self.hours.tz)
        self._holidays = frozenset(self.hours.holidays)
        self._weekly = {day: tuple(_parse_span(s) for s in spans) for day, spans in self.hours.weekly.items()}
        self._always = False
        self._day_intervals = lru_cache(maxsize=512)(self._compute_day)

    @classmethod
    def always(cls) -> BusinessCalendar:
        cal = cls(BusinessHours(tz="UTC", weekly={d: ["00:00-24:00"] for d in WEEKDAYS}, holidays=[]))
        cal._always = True
        return cal

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

    # -- queries -------------------------------------------------------------------------------------------------
    def is_open(self, at: datetime) -> bool:
        at = _aware(at, "at")
        start, _ = next(self.intervals(at))
        return start <= at

    def next_open(self, at: datetime) -> datetime:
        """`at` itself (in UTC) when open, else the start of the next open interval."""
        at = _aware(at, "at")
        start, _ = next(self.intervals(at))
        return max(start, at)

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of open time after `start` has elapsed (UTC).

        A zero duration gives the next open moment: a ticket that arrives at night is due when the desk opens.
        """
        start = _aware(start, "start")
        if duration < _ZERO:
            raise ValueError("duration must not be negative")
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
        total = _ZERO
        try:
            for s, e in self.intervals(a):
                if s >= b:
                    break
                total += min(e, b) - max(s, a)
        except ClosedCalendarError:
            pass  # no open time ahead: what was counted so far is all there is
        return total
