"""Booking: validation naming the field, the callback ticket, capacity under concurrent requests on SQLite and
PostgreSQL (two hubs on one database, as two processes would be), idempotent resubmits, the HTML page."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from hub.callbacks.api import SERVICE
from hub.callbacks.service import Origin, SlotFull
from hub.clock import FrozenClock
from hub.domain import Identity
from hub.store.schema import callbacks, tickets
from tests.hubtest import running_hub
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config, hub_cb  # noqa: F401

UTC = timezone.utc


async def test_validation_errors_name_the_field(hub_cb) -> None:
    h = hub_cb
    cases = [
        (booking(phone="12"), "phone"),
        (booking(phone="+66 2 000"), "phone"),
        (booking(phone=None), "phone"),
        (booking(phone=["+66812345678"]), "phone"),
        (booking(tz="Bangkok"), "tz"),
        (booking(tz="Asia/Nowhere"), "tz"),
        (booking(tz=None), "tz"),
        (booking(name=None), "name"),
        (booking(name="x" * 201), "name"),
        (booking(slot="2027-03-01T10:10:00+07:00"), "slot"),  # not on the slot grid
        (booking(slot="2027-03-06T10:00:00+07:00"), "slot"),  # Saturday
        (booking(slot="2027-02-26T10:00:00+07:00"), "slot"),  # in the past
        (booking(slot="tomorrow"), "slot"),
        (booking(slot=None, window_start="2027-03-01T05:00:00+07:00", window_end="2027-03-01T05:30:00+07:00"), "window_start"),
        (booking(slot=None, window_start="2027-03-01T11:00:00+07:00", window_end="2027-03-01T10:30:00+07:00"), "window_end"),
        (booking(slot=None, window_start="2027-03-01T17:30:00+07:00", window_end="2027-03-01T19:00:00+07:00"), "window_end"),
        (booking(slot=None, window_start="2027-02-28T10:00:00+07:00", window_end="2027-02-28T11:00:00+07:00"), "window_start"),
        (booking(slot=None), "window_start"),
        (booking(lang="<script>"), "lang"),
        (booking(visitor_token="short"), "visitor_token"),
    ]
    for body, field in cases:
        status, resp = await h.api("POST", "/api/callbacks", json=body)
        assert status == 422 and resp["error"]["field"] == field, (body, resp)
    status, resp = await h.api("POST", "/api/callbacks", data="not json", headers={"Content-Type": "application/json"})
    assert status == 400
    async with h.hub.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(tickets))).scalar_one() == 0


async def test_booking_makes_a_callback_ticket(hub_cb) -> None:
    h = hub_cb
    status, body = await h.api("POST", "/api/callbacks", json=booking(topic="<b>invoice</b>", tz="Asia/Tehran",
                                                                     slot="2027-03-01T06:30:00+03:30"))
    assert status == 201, body
    assert body["status"] == "scheduled" and body["window_start"] == "2027-03-01T06:30:00+03:30"
    assert body["window_end"] == "2027-03-01T07:00:00+03:30" and body["manage_url"].startswith(f"{h.url}/callback/{body['id']}?t=")
    headers = await h.agent("cb@example.com", departments=["callbacks"])
    _, t = await h.api("GET", f"/api/tickets/{body['ticket_id']}", headers)
    assert t["kind"] == "callback" and t["department"] == "callbacks" and t["channel"] == "callback"
    assert datetime.fromisoformat(t["first_response_due"]) == datetime(2027, 3, 1, 3, 30, tzinfo=UTC)
    assert "+66812345678" in t["messages"][0]["text"] and len(t["messages"]) == 1  # no written channel: nothing sent
    _, page = await h.api("GET", "/api/callbacks?status=scheduled", headers)
    cb = page["items"][0]
    assert cb["phone"] == "+66812345678" and cb["tz"] == "Asia/Tehran" and cb["attempts"] == 0 and cb["outcome"] is None
    # A window inside hours books into the slot holding its start.
    status, body = await h.api("POST", "/api/callbacks", json=booking(slot=None, window_start="2027-03-01T10:40:00",
                                                                     window_end="2027-03-01T11:20:00"))
    assert status == 201 and body["window_start"] == "2027-03-01T10:40:00+07:00"
    async with h.hub.db.read() as conn:
        slot = (await conn.execute(select(callbacks.c.slot_start).where(callbacks.c.id == body["id"]))).scalar_one()
    assert slot == datetime(2027, 3, 1, 3, 30, tzinfo=UTC)


async def test_full_slot_answers_409_with_next_free_slots(hub_cb) -> None:
    h = hub_cb
    for phone in ("0812345671", "0812345672"):
        assert (await h.api("POST", "/api/callbacks", json=booking(phone=phone)))[0] == 201
    status, body = await h.api("POST", "/api/callbacks", json=booking(phone="0812345673"))
    assert status == 409 and body["error"]["code"] == "slot_full"
    assert body["error"]["slots"][0] == {"start": "2027-03-01T10:30:00+07:00", "end": "2027-03-01T11:00:00+07:00"}
    _, slots = await h.api("GET", "/api/callbacks/slots?date=2027-03-01&tz=Asia/Bangkok")
    assert {s["start"]: s["available"] for s in slots["items"]}["2027-03-01T10:00:00+07:00"] == 0


async def test_resubmitted_request_books_once(hub_cb) -> None:
    h = hub_cb
    a = await h.api("POST", "/api/callbacks", json=booking(request_id="form-123456"))
    b = await h.api("POST", "/api/callbacks", json=booking(request_id="form-123456"))
    assert a[0] == 201 and b[0] == 200 and a[1]["id"] == b[1]["id"] and "manage_url" not in b[1]


async def test_capacity_holds_under_concurrent_requests(db_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    config = callback_config(db_url, callback={"calls_per_agent_per_slot": 3})
    async with running_hub(config, clock=clock) as one, running_hub(config, clock=clock) as two:
        async def attempt(i: int) -> int:
            h = one if i % 2 else two
            return (await h.api("POST", "/api/callbacks", json=booking(phone=f"08123456{i:02d}")))[0]

        results = await asyncio.gather(*(attempt(i) for i in range(16)))
        assert sorted(results).count(201) == 3 and set(results) == {201, 409}, results
        async with one.hub.db.read() as conn:
            rows = (await conn.execute(select(callbacks.c.slot_start, callbacks.c.status))).all()
        assert len(rows) == 3 and {r.status for r in rows} == {"scheduled"}


async def test_rate_limited(sqlite_url: str) -> None:
    config = callback_config(sqlite_url, rate_limits={"public_per_minute": 3})
    async with running_hub(config, clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        codes = [(await h.api("GET", "/api/callbacks/slots?date=2027-03-01&tz=Asia/Bangkok"))[0] for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[-1] == 429


async def test_page_books_without_javascript_and_escapes(hub_cb) -> None:
    h = hub_cb
    status, page = await h.api("GET", "/callback?date=2027-03-01&tz=Asia/Bangkok&name=%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 200 and "<script>alert" not in page and "&lt;script&gt;" in page
    assert 'value="2027-03-01T10:00:00+07:00"' in page and "<form" in page
    form = {"name": "<img src=x onerror=alert(1)>", "phone": "081 234 5678", "tz": "Asia/Bangkok",
            "slot": "2027-03-01T10:00:00+07:00", "submission_id": "abcdef123456"}
    status, done = await h.api("POST", "/callback", data=form)
    assert status == 201 and "10:00" in done and "<img" not in done
    url = re.search(r'href="http://127\.0\.0\.1:\d+(/callback/[^"]+)"', done).group(1).replace("&amp;", "&")
    status, manage = await h.api("GET", url)
    assert status == 200 and "booked" in manage and "Cancel the call" in manage
    status, bad = await h.api("POST", "/callback", data={**form, "phone": "nope", "submission_id": "zzzzzz999999"})
    assert status == 422 and "phone" in bad and "&lt;img" in bad
    status, _ = await h.api("GET", url[:-3] + "xyz")
    assert status == 404
    token = url.split("t=")[1]
    status, moved = await h.api("POST", url.split("?")[0], data={"t": token, "action": "reschedule", "tz": "Asia/Bangkok",
                                                                 "slot": "2027-03-01T14:00:00+07:00"})
    assert status == 200 and "14:00" in moved
    status, cancelled = await h.api("POST", url.split("?")[0], data={"t": token, "action": "cancel"})
    assert status == 200 and "cancelled" in cancelled


async def test_commit_step_alone_holds_capacity(db_url: str) -> None:
    """The database lock, not the in-process one, is what holds capacity: race the final transaction directly."""
    clock = FrozenClock(MONDAY_7AM_BKK)
    config = callback_config(db_url, callback={"calls_per_agent_per_slot": 2})
    async with running_hub(config, clock=clock) as one, running_hub(config, clock=clock) as two:
        services = [one.server.app[SERVICE], two.server.app[SERVICE]]
        reqs = [services[0].parse(booking(phone=f"08123457{i:02d}")) for i in range(12)]
        accepted = [await one.hub.intake.deliver(services[0]._inbound(r, Origin("callback", Identity("phone", r.phone)), Identity("phone", r.phone))) for r in reqs]

        async def commit(i: int) -> str:
            try:
                await services[i % 2]._commit(accepted[i], reqs[i])
                return "booked"
            except SlotFull:
                return "full"

        results = await asyncio.gather(*(commit(i) for i in range(12)))
        assert results.count("booked") == 2, results
