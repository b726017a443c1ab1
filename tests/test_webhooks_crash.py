"""Webhook events survive a process that dies right after committing the change: ticket created, message created
(the customer's, the agent's, the survey's), ticket resolved and survey answered are queued in the change's own
transaction, and the next process to start delivers each to a real local receiver under its stable event id, once.
With no endpoint configured, writers note and write nothing for webhooks."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select

from hub.clock import FrozenClock
from hub.serialize import iso
from hub.store.schema import messages, surveys, tickets
from hub.store.schema import webhook_deliveries as wd
from hub.webhooks.events import _fixed
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.webhook_receiver import Receiver, assert_a_restart_sends_nothing, free_port, restart_delivers

SECRET = "a-long-shared-secret-0123456789"
EVENTS = ["ticket.created", "message.created", "ticket.resolved", "survey.answered"]


def _config(db_url: str, url: str) -> Any:
    hook = {"name": "crm", "url": url, "secret": SECRET, "allow_private": True, "events": EVENTS}
    return hub_config(db_url, scheduler_interval=3600, webhooks={
        "endpoints": [hook], "backoff_base": 0.05, "backoff_max": 0.2, "sweep_interval": 0.05, "timeout": 2, "lock_timeout": 10})


def _die_after_commit(h: RunningHub) -> None:
    """From here on this process does nothing after a commit for webhooks: no bus tap queues an event, no sender
    sends one.  What reaches the receiver later was queued in the changes' own transactions."""
    h.hub.bus.taps.remove(h.hub.webhooks.on_publish)


async def _expected(h: RunningHub, tid: int) -> dict[str, str]:
    """event id -> event type, as hub.webhooks.events derives them from the stored facts."""
    async with h.hub.db.read() as conn:
        mids = (await conn.execute(select(messages.c.id).where(messages.c.ticket_id == tid))).scalars().all()
        resolved_at = (await conn.execute(select(tickets.c.resolved_at).where(tickets.c.id == tid))).scalar_one()
        s = (await conn.execute(select(surveys).where(surveys.c.ticket_id == tid))).one()
    out = {_fixed("ticket.created", tid): "ticket.created", _fixed("ticket.resolved", tid, iso(resolved_at)): "ticket.resolved"}
    out.update({_fixed("message.created", m): "message.created" for m in mids})
    out.update({_fixed(f"survey.answered:{s.id}:{n}"): "survey.answered" for n in range(1, s.answers + 1)})
    return out


async def test_events_committed_before_a_crash_are_delivered_after_the_restart(db_url: str) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc))
    rx = Receiver(free_port(), SECRET)
    rx.now = lambda: clock.now().timestamp()
    await rx.start()
    try:
        async with running_hub(_config(db_url, rx.url), clock=clock) as h:
            await h.hub.webhooks.stop()  # its sender is gone too: nothing this process queued is sent by it
            _die_after_commit(h)
            headers = await h.agent("agent@example.com", departments=["support"])
            chat = await h.chat(name="Dao", lang="th")
            tid = (await chat.say("สั่งของไปแล้วยังไม่ได้รับค่ะ"))["ticket_id"]
            assert (await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "Sent again today."}))[0] == 201
            assert (await h.api("POST", f"/api/tickets/{tid}/resolve", headers))[0] == 200
            clock.advance(hours=2)
            await h.hub.surveys.tick()
            ask = await chat.expect("message", author="system")
            while not ask.get("buttons"):
                ask = await chat.expect("message", author="system")
            await chat.say("4", payload=ask["buttons"][3]["payload"])
            await chat.expect("message", author="system")
            await h.settle()
            await chat.close()
            expected = await _expected(h, tid)
            assert sorted(set(expected.values())) == sorted(EVENTS) and len(expected) >= 7
            # Committed with the changes, before any after-commit step: every event is waiting in the database.
            async with h.hub.db.read() as conn:
                queued = {r.event_id: r.event for r in (await conn.execute(select(wd.c.event_id, wd.c.event))).all()}
            assert queued == expected and rx.got == []

            await restart_delivers(_config(db_url, rx.url), rx, clock, expected)
            for event_id, body in rx.accepted.items():
                assert body["type"] == expected[event_id] and body["id"] == event_id
            assert all(g["valid"] for g in rx.got)
            by_type = {b["type"]: b for b in rx.accepted.values()}
            assert by_type["ticket.resolved"]["data"]["ticket"]["status"] == "resolved"
            assert {b["data"]["message"]["text"] for b in rx.accepted.values() if b["type"] == "message.created"} >= {
                "สั่งของไปแล้วยังไม่ได้รับค่ะ", "Sent again today."}

        await assert_a_restart_sends_nothing(_config(db_url, rx.url), rx, clock)
    finally:
        await rx.stop()


async def test_without_endpoints_nothing_is_noted_or_written(sqlite_url: str) -> None:
    async with running_hub(hub_config(sqlite_url)) as h:
        assert h.hub.db.before_commit == []
        headers = await h.agent("agent@example.com", departments=["support"])
        chat = await h.chat(lang="fa")
        tid = (await chat.say("سلام، بسته‌ام نرسیده"))["ticket_id"]
        assert (await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "ارسال شد"}))[0] == 201
        assert (await h.api("POST", f"/api/tickets/{tid}/resolve", headers))[0] == 200
        await h.settle()
        async with h.hub.db.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(wd))).scalar_one() == 0
