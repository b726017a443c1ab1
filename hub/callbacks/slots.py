"""Call slots: business hours (weekly local spans, holidays) cut into equal slots, in UTC.

Spans are read in the business zone per local date through zoneinfo, so a DST change or a half-hour offset needs
nothing special; a slot never straddles the end of a span.  Pure functions over config values; no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hub.config import WEEKDAYS, BusinessHours

UTC = timezone.utc


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # UTC
    end: datetime


class SlotGrid:
    def __init__(self, hours: BusinessHours, minutes: int) -> None:
        self.hours = hours
        self.zone = ZoneInfo(hours.tz)
        self.length = timedelta(minutes=minutes)
        self._holidays = frozenset(hours.holidays)
        self._cache: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def _at(self, day: date, hhmm: str) -> datetime:
        h, m = int(hhmm[:2]), int(hhmm[3:])
        if h == 24:  # "24:00" is the next midnight
            day, h, m = day + timedelta(days=1), 0, 0
        return datetime.combine(day, time(h, m), tzinfo=self.zone).astimezone(UTC)

    def day_spans(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """Open intervals (UTC) of one business-local date."""
        got = self._cache.get(day)
        if got is None:
            spans = []
            if day not in self._holidays:
                for span in self.hours.weekly.get(WEEKDAYS[day.weekday()], ()):
                    a, b = self._at(day, span[:5]), self._at(day, span[6:])
                    if b > a:
                        spans.append((a, b))
            got = self._cache[day] = tuple(sorted(spans))
            if len(self._cache) > 2000:
                self._cache.clear()
        return got

    def spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Open intervals overlapping [start, end)."""
        first = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date() + timedelta(days=1)
        out = []
        day = first
        while day <= last:
            out.extend(s for s in self.day_spans(day) if s[0] < end and s[1] > start)
            day += timedelta(days=1)
        return out

    def slots(self, start: datetime, end: datetime) -> list[Slot]:
        """Every slot whose start lies in [start, end), in time order."""
        found: dict[datetime, Slot] = {}
        for a, b in self.spans(start - self.length, end):
            t = a
            while t + self.length <= b:
                if start <= t < end:
                    found[t] = Slot(t, t + self.length)
                t += self.length
        return [found[k] for k in sorted(found)]

    def local_day(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC of a calendar date in the customer's zone (23 or 25 hours across DST)."""
        a = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        b = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        return a, b

    def slot_for_window(self, start: datetime, end: datetime) -> Slot | None:
        """The grid slot a window [start, end) is booked into: the one holding its start, provided the whole
        window lies inside one open interval.  None when it does not."""
        for a, b in self.spans(start, end):
            if a <= start and end <= b:
                n = (start - a) // self.length
                s = a + n * self.length
                if s + self.length > b:  # the tail of a span too short for a whole slot: count it in the last one
                    s -= self.length
                return Slot(s, s + self.length) if s >= a else Slot(a, b)
        return None
