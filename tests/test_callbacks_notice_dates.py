"""The day and time in callback notices, as the customer reads them: English, Thai (Thai names, Buddhist year),
Persian (Solar Hijri, Persian digits); the time zone keeps its name, and the day is the day in that zone."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hub import dates
from hub.callbacks.texts import say, window

# 02:00-02:30 UTC on Monday 1 March 2027: 09:00 in Bangkok, 05:30 in Tehran.
START = datetime(2027, 3, 1, 2, 0, tzinfo=timezone.utc)
END = datetime(2027, 3, 1, 2, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(("lang", "tz", "want"), [
    ("en", "Asia/Bangkok", "between Monday 1 March 2027, 09:00 and 09:30 (Asia/Bangkok)"),
    ("th", "Asia/Bangkok", "ระหว่าง วันจันทร์ที่ 1 มีนาคม 2570 เวลา 09:00 น. ถึง 09:30 (Asia/Bangkok)"),
    ("fa", "Asia/Tehran", "بین دوشنبه ۱۰ اسفند ۱۴۰۵، ساعت ۰۵:۳۰ تا ۰۶:۰۰ (Asia/Tehran)"),
])
def test_confirmation_and_reminder_write_the_day_in_the_customers_calendar(lang: str, tz: str, want: str) -> None:
    for key in ("confirmed", "reminder", "rescheduled"):
        text = say(key, lang, phone="+66****5678", **window(START, END, tz, lang))
        assert want in text, (key, text)
        assert "2027-03-01" not in text and "+66****5678" in text  # the phone keeps its Latin digits


def test_the_day_is_the_day_in_the_customers_zone() -> None:
    # 20:00 UTC on Sunday 28 February is already Monday 1 March (03:00) in Bangkok.
    late = datetime(2027, 2, 28, 20, 0, tzinfo=timezone.utc)
    values = window(late, late.replace(minute=30), "Asia/Bangkok", "en")
    assert values == {"start": "Monday 1 March 2027, 03:00", "end": "03:30", "tz": "Asia/Bangkok"}
    assert say("cancelled", "th", start=window(late, late, "America/New_York", "th")["start"], tz="America/New_York") \
        == "ยกเลิกการโทรกลับเวลา วันอาทิตย์ที่ 28 กุมภาพันธ์ 2570 เวลา 15:00 น. (America/New_York) แล้ว"


@pytest.mark.parametrize(("lang", "tz", "want"), [
    ("en", "Asia/Bangkok", "Mon 1 Mar 09:00"),
    ("th", "Asia/Bangkok", "จันทร์ 1 มี.ค. 09:00"),
    ("fa", "Asia/Tehran", "دوشنبه ۱۰ اسفند ۰۵:۳۰"),
    ("de", "Asia/Bangkok", "Mon 1 Mar 09:00"),  # no catalog: English
])
def test_slot_buttons_are_short_and_in_the_customers_language(lang: str, tz: str, want: str) -> None:
    assert dates.slot(START, tz, lang) == want
