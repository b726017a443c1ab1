"""Call slots from business hours across time zones: Bangkok, Tehran's half-hour offset, London across DST."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hub.callbacks.slots import SlotGrid
from hub.clock import FrozenClock
from hub.config import BusinessHours
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, WEEKDAYS_9_18, callback_config, hub_cb  # noqa: F401
from tests.hubtest import running_hub

UTC = timezone.utc


def test_grid_bangkok_day() -> None:
    grid = SlotGrid(BusinessHours(tz="Asia/Bangkok", weekly=WEEKDAYS_9_18), 30)
    a, b = grid.local_day(date(2027, 3, 1), ZoneInfo("Asia/Bangkok"))
    slots = grid.slots(a, b)
    assert len(slots) == 18
    assert slots[0].start == datetime(2027, 3, 1, 2, 0, tzinfo=UTC) and slots[-1].end == datetime(2027, 3, 1, 11, 0, tzinfo=UTC)
    assert grid.slots(*grid.local_day(date(2027, 3, 6), ZoneInfo("Asia/Bangkok"))) == []  # Saturday


def test_grid_tehran_half_hour_offset() -> None:
    grid = SlotGrid(BusinessHours(tz="Asia/Tehran", weekly={"sat": ["08:30-12:00"]}), 45)
    slots = grid.slots(*grid.local_day(date(2027, 3, 6), ZoneInfo("Asia/Tehran")))
    # 08:30 +03:30 is 05:00 UTC; 45-minute slots that fit before 12:00: 08:30, 09:15, 10:00, 10:45.
    assert [s.start.astimezone(ZoneInfo("Asia/Tehran")).strftime("%H:%M") for s in slots] == ["08:30", "09:15", "10:00", "10:45"]
    assert slots[0].start == datetime(2027, 3, 6, 5, 0, tzinfo=UTC)


def test_grid_london_dst_day_is_23_hours() -> None:
    grid = SlotGrid(BusinessHours(tz="Europe/London", weekly={"sun": ["00:00-24:00"]}), 60)
    slots = grid.slots(*grid.local_day(date(2027, 3, 28), ZoneInfo("Europe/London")))
    assert len(slots) == 23  # clocks go forward at 01:00
    labels = [s.start.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") for s in slots]
    assert "01:00" not in labels and labels[:3] == ["00:00", "02:00", "03:00"]


def test_holiday_and_window_fit() -> None:
    grid = SlotGrid(BusinessHours(tz="Asia/Bangkok", weekly=WEEKDAYS_9_18, holidays=[date(2027, 3, 2)]), 30)
    assert grid.slots(*grid.local_day(date(2027, 3, 2), ZoneInfo("Asia/Bangkok"))) == []
    start = datetime(2027, 3, 1, 3, 10, tzinfo=UTC)  # 10:10 Bangkok
    slot = grid.slot_for_window(start, start + timedelta(minutes=40))
    assert slot is not None and slot.start == datetime(2027, 3, 1, 3, 0, tzinfo=UTC)
    assert grid.slot_for_window(datetime(2027, 3, 1, 10, 50, tzinfo=UTC), datetime(2027, 3, 1, 11, 20, tzinfo=UTC)) is None


async def test_slots_api_in_the_asked_zone(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK + timedelta(hours=3, minutes=10))  # 10:10 in Bangkok
    async with running_hub(callback_config(sqlite_url), clock=clock) as h:
        status, body = await h.api("GET", "/api/callbacks/slots?date=2027-03-01&tz=Asia/Bangkok")
        assert status == 200
        starts = [s["start"] for s in body["items"]]
        assert starts[0] == "2027-03-01T10:30:00+07:00"  # never a slot that has begun
        assert starts[-1] == "2027-03-01T17:30:00+07:00" and len(starts) == 15
        assert {s["available"] for s in body["items"]} == {2}  # no agents yet: agents_on_shift (1) x 2 calls
        # The same hours seen from Tehran (+03:30): 10:30 Bangkok is 07:00 there.
        _, teh = await h.api("GET", "/api/callbacks/slots?date=2027-03-01&tz=Asia/Tehran")
        assert teh["items"][0]["start"] == "2027-03-01T07:00:00+03:30" and teh["items"][0]["end"] == "2027-03-01T07:30:00+03:30"
        # Agents of the callback department set the capacity; others do not count.
        await h.add_agent("c1@example.com", departments=["callbacks"])
        await h.add_agent("c2@example.com", departments=["callbacks", "support"])
        await h.add_agent("s1@example.com", departments=["support"])
        _, body = await h.api("GET", "/api/callbacks/slots?date=2027-03-01&tz=Asia/Bangkok")
        assert {s["available"] for s in body["items"]} == {4}
        # Past days, weekends and days beyond the horizon offer nothing.
        for day in ("2027-02-26", "2027-03-06", "2027-06-01"):
            _, body = await h.api("GET", f"/api/callbacks/slots?date={day}&tz=Asia/Bangkok")
            assert body["items"] == [], day


async def test_slots_london_hours_across_dst_from_bangkok(sqlite_url: str) -> None:
    hours = {"tz": "Europe/London", "weekly": {d: ["09:00-17:00"] for d in ("mon", "fri")}, "holidays": []}
    clock = FrozenClock(datetime(2027, 3, 25, 12, 0, tzinfo=UTC))
    async with running_hub(callback_config(sqlite_url, hours=hours), clock=clock) as h:
        _, fri = await h.api("GET", "/api/callbacks/slots?date=2027-03-26&tz=Asia/Bangkok")
        _, mon = await h.api("GET", "/api/callbacks/slots?date=2027-03-29&tz=Asia/Bangkok")
        # 09:00 GMT is 16:00 in Bangkok; after the change 09:00 BST is 15:00.
        assert fri["items"][0]["start"] == "2027-03-26T16:00:00+07:00" and len(fri["items"]) == 16
        assert mon["items"][0]["start"] == "2027-03-29T15:00:00+07:00" and len(mon["items"]) == 16
        _, lon = await h.api("GET", "/api/callbacks/slots?date=2027-03-29&tz=Europe/London")
        assert lon["items"][0]["start"] == "2027-03-29T09:00:00+01:00"


async def test_slots_bad_input_names_the_field(hub_cb) -> None:
    h = hub_cb
    for query, field in (("date=2027-13-01&tz=Asia/Bangkok", "date"), ("date=2027-03-01&tz=Mars/Olympus", "tz"),
                         ("date=2027-03-01", "tz"), ("tz=Asia/Bangkok", "date"), ("date=2027-03-01&tz=../../etc/passwd", "tz")):
        status, body = await h.api("GET", f"/api/callbacks/slots?{query}")
        assert status == 422 and body["error"]["field"] == field, (query, body)
