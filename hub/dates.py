"""Dates and times as a customer reads them: English, Thai (Buddhist era) or Persian (Solar Hijri, Persian digits).

Babel supplies CLDR month and weekday names; jdatetime the Solar Hijri calendar.  Used by the public pages and the
notices sent about a booking; imports only the standard library, Babel and jdatetime.
"""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import jdatetime
from babel.dates import format_date

_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _base(lang: str | None) -> str:
    return (lang or "en")[:2].lower()


def digits(text: str, lang: str | None) -> str:
    """Persian digits for Persian text; Thai readers use Arabic numerals day to day, so they stay."""
    return text.translate(_FA_DIGITS) if _base(lang) == "fa" else text


def day(d: date, lang: str | None) -> str:
    """'Tuesday 1 December 2026', 'วันอังคารที่ 1 ธันวาคม 2569', 'سه‌شنبه ۱۰ آذر ۱۴۰۵'."""
    lang = _base(lang)
    if lang == "fa":
        j = jdatetime.date.fromgregorian(date=d, locale="fa_IR")
        return digits(f"{j.strftime('%A')} {j.day} {j.strftime('%B')} {j.year}", "fa")
    if lang == "th":
        return f"{format_date(d, 'EEEEที่ d MMMM', locale='th')} {d.year + 543}"
    return format_date(d, "EEEE d MMMM y", locale="en")


def clock(t: time | datetime, lang: str | None) -> str:
    return digits(f"{t.hour:02d}:{t.minute:02d}", lang)


def when(at: datetime, tz: str | ZoneInfo, lang: str | None) -> str:
    """A moment in the customer's zone: day and time."""
    local = at.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)
    lang = _base(lang)
    if lang == "fa":
        return f"{day(local.date(), lang)}، ساعت {clock(local, lang)}"
    if lang == "th":
        return f"{day(local.date(), lang)} เวลา {clock(local, lang)} น."
    return f"{day(local.date(), lang)}, {clock(local, lang)}"


def slot(at: datetime, tz: str | ZoneInfo, lang: str | None) -> str:
    """A short label for a time to pick on a button: 'Mon 1 Mar 09:00', 'จันทร์ 1 มี.ค. 09:00', 'دوشنبه ۱۰ اسفند ۰۹:۰۰'."""
    local = at.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)
    lang = _base(lang)
    if lang == "fa":
        j = jdatetime.date.fromgregorian(date=local.date(), locale="fa_IR")
        return digits(f"{j.strftime('%A')} {j.day} {j.strftime('%B')} {clock(local, lang)}", "fa")
    return f"{format_date(local.date(), 'EEE d MMM', locale='th' if lang == 'th' else 'en')} {clock(local, lang)}"
