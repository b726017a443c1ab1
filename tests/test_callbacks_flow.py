"""The life of a callback with the clock frozen and moved by hand: confirmation on web chat, one reminder, due on
the agent socket, claim, retries until unreachable, reached / wrong number / reschedule, overdue escalation, and a
restart between booking and the due time."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hub.clock import FrozenClock
from hub.store.schema import callbacks, messages
from tests.hubtest import RunningHub, agent_socket, next_event, running_hub
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config

QUIET = {"scheduler_interval": 3600}  # the test ticks the scheduler itself


async def system_texts(h: RunningHub, ticket_id: int) -> list[str]:
    async with h.hub.db.read() as conn:
        rows = await conn.execute(select(messages.c.text).where((messages.c.ticket_id == ticket_id) & (messages.c.author == "system")).order_by(messages.c.id))
        return [r.text for r in rows]


async def tick(h: RunningHub) -> None:
    await h.hub.scheduler.tick()
    await h.settle()


async def test_web_chat_confirmation_reminder_due_and_retries(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    async with running_hub(callback_config(sqlite_url, **QUIET), clock=clock) as h:
        chat = await h.chat(lang="th")
        await chat.say("โทรกลับได้ไหม")  # a booking joins a chat only once the visitor has written in it
        status, cb = await h.api("POST", "/api/callbacks", json=booking(visitor_token=chat.token, lang="th"))
        assert status == 201, cb
        confirm = await chat.expect("message", author="system")
        # Thai: Thai day and month names and the Buddhist year, the zone by its name.
        assert "วันจันทร์ที่ 1 มีนาคม 2570 เวลา 10:00 น." in confirm["text"] and "(Asia/Bangkok)" in confirm["text"]
        words = re.sub(r"https?://\S+", "", confirm["text"])  # the manage link's port and token may hold any digits
        assert "2027" not in words and "+66****5678" not in words
        assert "+66" in words and "5678" not in words  # masked on the written channel
        assert f"/callback/{cb['id']}?t=" in confirm["text"]
        tid = cb["ticket_id"]
        # The reminder goes once, however often the scheduler runs.
        clock.advance(hours=2, minutes=46)  # 09:46 Bangkok
        await tick(h)
        await tick(h)
        reminder = await chat.expect("message", author="system")
        assert "วันจันทร์ที่ 1 มีนาคม 2570 เวลา 10:00 น." in reminder["text"] and "(Asia/Bangkok)" in reminder["text"]
        assert len(await system_texts(h, tid)) == 2
        # Due: on the agent socket and in the due list.
        a = await h.agent("a@example.com", departments=["callbacks"])
        b = await h.agent("b@example.com", departments=["callbacks"])
        ws = await agent_socket(h, a)
        clock.advance(minutes=14)
        await tick(h)
        ev = await next_event(ws, "callback.due")
        assert ev["callback"]["id"] == cb["id"] and ev["callback"]["status"] == "due"
        _, due = await h.api("GET", "/api/callbacks?status=due", a)
        assert [c["id"] for c in due["items"]] == [cb["id"]]
        _, none = await h.api("GET", "/api/callbacks?status=due&due_before=2027-03-01T09:00:00%2B07:00", a)
        assert none["items"] == []
        # Claim: one agent wins.
        assert (await h.api("POST", f"/api/callbacks/{cb['id']}/claim", a))[0] == 200
        status, err = await h.api("POST", f"/api/callbacks/{cb['id']}/claim", b)
        assert status == 409
        status, err = await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", b, json={"outcome": "no_answer"})
        assert status == 409
        # No answer: retried after the delay, up to max_attempts, then unreachable with a notice and a closed ticket.
        for attempt in (1, 2):
            status, after = await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", a, json={"outcome": "no_answer", "note": "voicemail"})
            assert status == 200 and after["status"] == "scheduled" and after["attempts"] == attempt
            assert after["window_start"] == (clock.now() + timedelta(minutes=30)).astimezone(ZoneInfo("Asia/Bangkok")).isoformat()
            clock.advance(minutes=30)
            await tick(h)
            _, got = await h.api("GET", f"/api/callbacks/{cb['id']}", a)
            assert got["status"] == "due"
        status, last = await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", a, json={"outcome": "no_answer"})
        assert status == 200 and last["status"] == "unreachable" and last["attempts"] == 3
        notice = await chat.expect("message", author="system")
        assert "3" in notice["text"]
        _, t = await h.api("GET", f"/api/tickets/{tid}", a)
        assert t["status"] == "closed" and t["kind"] == "callback" and t["first_response_at"]
        assert (await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", a, json={"outcome": "reached"}))[0] == 409
        await ws.close()
        await chat.close()


async def test_outcomes_reached_wrong_number_reschedule(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    async with running_hub(callback_config(sqlite_url, **QUIET), clock=clock) as h:
        a = await h.agent("a@example.com", departments=["callbacks"])
        ids = []
        for i, slot in enumerate(("10:00", "10:30", "11:00")):
            status, cb = await h.api("POST", "/api/callbacks", json=booking(phone=f"08123456{i}0", slot=f"2027-03-01T{slot}:00+07:00"))
            assert status == 201
            ids.append(cb)
        _, r = await h.api("POST", f"/api/callbacks/{ids[0]['id']}/outcome", a, json={"outcome": "reached", "note": "sorted"})
        assert r["status"] == "done" and r["outcome"] == "reached" and r["attempts"] == 1
        _, t = await h.api("GET", f"/api/tickets/{ids[0]['ticket_id']}", a)
        assert t["status"] == "resolved"
        _, w = await h.api("POST", f"/api/callbacks/{ids[1]['id']}/outcome", a, json={"outcome": "wrong_number"})
        assert w["status"] == "done" and w["outcome"] == "wrong_number"
        _, t = await h.api("GET", f"/api/tickets/{ids[1]['ticket_id']}", a)
        assert t["status"] == "closed"
        status, err = await h.api("POST", f"/api/callbacks/{ids[2]['id']}/outcome", a, json={"outcome": "reschedule"})
        assert status == 422 and err["error"]["field"] == "new_window"
        status, err = await h.api("POST", f"/api/callbacks/{ids[2]['id']}/outcome", a,
                                  json={"outcome": "reschedule", "new_window": {"slot": "2027-03-06T10:00:00+07:00"}})
        assert status == 422 and err["error"]["field"] == "new_window.slot"
        status, moved = await h.api("POST", f"/api/callbacks/{ids[2]['id']}/outcome", a,
                                    json={"outcome": "reschedule", "new_window": {"window_start": "2027-03-02T15:00:00", "window_end": "2027-03-02T16:00:00"}})
        assert status == 200 and moved["status"] == "scheduled" and moved["window_start"] == "2027-03-02T15:00:00+07:00"
        _, t = await h.api("GET", f"/api/tickets/{ids[2]['ticket_id']}", a)
        assert t["first_response_due"].startswith("2027-03-02T09:00:00")
        status, bad = await h.api("POST", f"/api/callbacks/{ids[2]['id']}/outcome", a, json={"outcome": "hung_up"})
        assert status == 422 and bad["error"]["field"] == "outcome"
        assert (await h.api("POST", "/api/callbacks/999/claim", a))[0] == 404
        assert (await h.api("GET", "/api/callbacks?status=bogus", a))[0] == 422
        assert (await h.api("GET", "/api/callbacks"))[0] == 401


async def test_overdue_escalates_once(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    config = callback_config(sqlite_url, **QUIET, departments=[{"name": "support", "default": True},
                                                                {"name": "callbacks", "escalation": "escalations"}, {"name": "escalations"}])
    async with running_hub(config, clock=clock) as h:
        _, cb = await h.api("POST", "/api/callbacks", json=booking())
        a = await h.agent("sup@example.com", role="supervisor")
        ws = await agent_socket(h, a)
        clock.advance(hours=3, minutes=31)  # 10:31, past the 10:30 call-by time
        await tick(h)
        ev = await next_event(ws, "callback.overdue")
        assert ev["callback"]["id"] == cb["id"]
        await tick(h)
        _, t = await h.api("GET", f"/api/tickets/{cb['ticket_id']}", a)
        assert t["priority"] == "high" and t["department"] == "escalations"
        assert sum(1 for x in t["trace"] if x["what"] == "sla" and x["why"].startswith("callback")) == 1
        _, got = await h.api("GET", f"/api/callbacks/{cb['id']}", a)
        assert got["status"] == "due"  # still to be called, now urgent for someone
        await ws.close()


async def test_restart_between_booking_and_due(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    config = callback_config(sqlite_url, **QUIET)
    async with running_hub(config, clock=clock) as h:
        chat = await h.chat()
        await chat.say("call me please")
        _, cb = await h.api("POST", "/api/callbacks", json=booking(visitor_token=chat.token))
        await chat.expect("message", author="system")
        clock.advance(hours=2, minutes=50)
        await tick(h)  # the reminder
        await chat.close()
    clock.advance(minutes=40)  # down across the due time
    async with running_hub(config, clock=clock) as h2:
        await tick(h2)
        await tick(h2)
        async with h2.hub.db.read() as conn:
            row = (await conn.execute(select(callbacks).where(callbacks.c.id == cb["id"]))).one()
        assert row.status == "due" and row.escalated_at is not None  # due and, past 10:30, overdue
        assert len(await system_texts(h2, cb["ticket_id"])) == 2  # confirmation + one reminder, never two
    # A hub that was down across the reminder time does not send a stale reminder after the call began.
    clock2 = FrozenClock(MONDAY_7AM_BKK)
    config2 = callback_config(sqlite_url.replace("hub.db", "hub2.db"), **QUIET)
    async with running_hub(config2, clock=clock2) as h3:
        chat = await h3.chat()
        await chat.say("call me please")
        _, cb = await h3.api("POST", "/api/callbacks", json=booking(visitor_token=chat.token))
        await chat.close()
    clock2.advance(hours=3, minutes=5)
    async with running_hub(config2, clock=clock2) as h4:
        await tick(h4)
        assert len(await system_texts(h4, cb["ticket_id"])) == 1
        async with h4.hub.db.read() as conn:
            assert (await conn.execute(select(callbacks.c.status).where(callbacks.c.id == cb["id"]))).scalar_one() == "due"


async def test_customer_cancels_with_token(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    async with running_hub(callback_config(sqlite_url, **QUIET), clock=clock) as h:
        _, cb = await h.api("POST", "/api/callbacks", json=booking())
        token = cb["manage_url"].split("t=")[1]
        assert (await h.api("POST", f"/api/callbacks/{cb['id']}/cancel", json={"token": "x" * 24}))[0] == 404
        status, moved = await h.api("POST", f"/api/callbacks/{cb['id']}/reschedule", json={"token": token, "slot": "2027-03-01T15:00:00+07:00"})
        assert status == 200 and moved["window_start"] == "2027-03-01T15:00:00+07:00"
        status, gone = await h.api("POST", f"/api/callbacks/{cb['id']}/cancel", json={"token": token})
        assert status == 200 and gone["status"] == "cancelled"
        clock.advance(hours=9)
        await tick(h)
        async with h.hub.db.read() as conn:
            assert (await conn.execute(select(callbacks.c.status).where(callbacks.c.id == cb["id"]))).scalar_one() == "cancelled"
        _, slots = await h.api("GET", "/api/callbacks/slots?date=2027-03-02&tz=Asia/Bangkok")
        assert slots["items"][0]["available"] == 2
