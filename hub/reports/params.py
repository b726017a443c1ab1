"""What a report is asked for: a date range in a time zone, a grouping, optional filters.  Parsed from a query
string with errors that name the parameter."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import Invalid

GROUPS = ("day", "week", "agent", "department", "channel")
MAX_DAYS = 400  # a report spans at most this many days (a year and a bit: this year against last)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class ReportQuery:
    first: date  # first local day in the range
    last: date  # last local day, inclusive
    tz: str
    group: str = "day"
    department: str | None = None
    channel: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=self.zone).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        """The UTC moment the day after `last` starts (exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.zone).astimezone(timezone.utc)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _day(raw: str, name: str) -> date:
    if not _DATE.match(raw):
        raise Invalid(f"{name} must be a date as YYYY-MM-DD", field=name)
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name} is not a real date: {raw}", field=name) from None
    if not 2000 <= value.year <= 2100:
        raise Invalid(f"{name} must be between 2000 and 2100", field=name)
    return value


def parse(query: Mapping[str, str], *, default_tz: str, today: datetime, departments: list[str]) -> ReportQuery:
    tz = query.get("tz") or default_tz
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {tz!r} (expected an IANA name such as Asia/Bangkok)", field="tz") from None
    local_today = today.astimezone(zone).date()
    last = _day(query["to"], "to") if query.get("to") else local_today
    first = _day(query["from"], "from") if query.get("from") else last - timedelta(days=29)
    if first > last:
        raise Invalid("from must not be after to", field="from")
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid(f"a report spans at most {MAX_DAYS} days", field="from")
    group = query.get("group") or "day"
    if group not in GROUPS:
        raise Invalid(f"group must be one of {', '.join(GROUPS)}", field="group")
    dept = query.get("department") or None
    if dept is not None and dept not in departments:
        raise Invalid(f"unknown department {dept!r}", field="department")
    channel = query.get("channel") or None
    if channel is not None and not re.fullmatch(r"[a-z_]{1,40}", channel):
        raise Invalid("channel must be a channel name such as webchat or email", field="channel")
    return ReportQuery(first, last, tz, group, dept, channel)
