"""The rest of the webhook events survive a process that dies right after committing the change: ticket.updated
(claim, transfer, callback booking and outcome, SLA escalation, resolve), callback.booked, callback.outcome and
sla.breached, and message.created for a chat's later messages (the intake's fast path), are queued in the
change's own transaction under the ids the after-commit bus events name, and the next process to start delivers
each to a real local receiver, once."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from hub.clock import FrozenClock
from hub.store import facts
from hub.store.schema import tickets
from hub.store.schema import webhook_deliveries as wd
from hub.webhooks.events import from_bus
from tests.hubtest import RunningHub, running_hub
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config
from tests.webhook_receiver import Receiver, assert_a_restart_sends_nothing, free_port, restart_delivers

SECRET = "a-long-shared-secret-0123456789"
FIXED_HERE = {"ticket.updated", "callback.booked", "callback.outcome", "sla.breached"}


def _config(db_url: str, url: str) -> Any:
    hook = {"name": "crm", "url": url, "secret": SECRET, "allow_private": True, "events": ["*"]}
    return callback_config(db_url, scheduler_interval=3600, webhooks={
        "endpoints": [hook], "backoff_base": 0.05, "backoff_max": 0.2, "sweep_interval": 0.05, "timeout": 2,
        "lock_timeout": 10})


def _die_after_commit(h: RunningHub) -> dict[str, str]:
    """From here on this process does nothing for webhooks after a commit: its sender is stopped and the bus tap
    that would send at once only records which events the process published (id -> type), as the mapping names
    them.  What reaches the receiver later was queued in the changes' own transactions."""
    published: dict[str, str] = {}

    async def record(topic: str, event: dict[str, Any]) -> None:
        published.update({ev.id: ev.type for ev in from_bus(event)})

    taps = h.hub.bus.taps
    taps[taps.index(h.hub.webhooks.on_publish)] = record
    return published


async def _quiet(h: RunningHub) -> None:
    """Wait until the abandoned process has finished what it started (message reviews, assignment offers): it is
    left running, and a change it committed later would be one more event for the next processes to send."""
    for _ in range(2):
        await h.settle()
        await h.hub.escalator.drain()
        await h.hub.assigner.idle()


async def _queued(h: RunningHub) -> dict[str, Any]:
    async with h.hub.db.read() as conn:
        return {r.event_id: r for r in (await conn.execute(select(wd))).all()}


async def test_updates_callbacks_and_breaches_committed_before_a_crash_are_delivered_after_it(db_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)  # Monday 07:00 in Bangkok, before business hours
    rx = Receiver(free_port(), SECRET)
    rx.now = lambda: clock.now().timestamp()
    await rx.start()
    try:
        async with running_hub(_config(db_url, rx.url), clock=clock) as h:
            await h.hub.webhooks.stop()
            published = _die_after_commit(h)
            a = await h.agent("a@example.com", departments=["support", "callbacks"])
            chat = await h.chat(name="Dao", lang="th")
            tid = (await chat.say("สวัสดีค่ะ ขอสอบถามเรื่องการจัดส่ง"))["ticket_id"]
            await h.settle()
            assert (await chat.say("พัสดุหมายเลข TH123 ค่ะ"))["ticket_id"] == tid  # the fast path
            assert (await h.api("POST", f"/api/tickets/{tid}/claim", a))[0] == 200
            moved = await h.api("POST", f"/api/tickets/{tid}/transfer", a, json={"department": "escalations"})
            assert moved[0] == 200
            status, cb = await h.api("POST", "/api/callbacks", json=booking(lang="th"))
            assert status == 201, cb
            assert (await h.api("POST", f"/api/callbacks/{cb['id']}/claim", a))[0] == 200
            status, after = await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", a,
                                        json={"outcome": "no_answer", "note": "voicemail"})
            assert status == 200 and after["outcome"] == "no_answer"
            clock.advance(hours=4)  # 11:00 in Bangkok: the chat's first response is overdue
            await h.hub.scheduler.tick()
            await h.settle()
            assert (await h.api("POST", f"/api/tickets/{tid}/resolve", a))[0] == 200
            await chat.close()
            await _quiet(h)

            queued = await _queued(h)
            kinds = {r.event for r in queued.values()}
            assert FIXED_HERE <= kinds, kinds
            # Every event the process published after a commit had been queued by that commit, under its id,
            # and nothing was queued twice or that no change published.
            assert {i: r.event for i, r in queued.items()} == published
            assert rx.got == []
            breach = [r for r in queued.values() if r.event == "sla.breached"]
            assert len(breach) == 1 and '"target":"first_response"' in breach[0].body

            await restart_delivers(_config(db_url, rx.url), rx, clock, queued)
            assert all(g["valid"] for g in rx.got)
            for event_id, body in rx.accepted.items():
                assert body["id"] == event_id and body["type"] == queued[event_id].event
            bodies = list(rx.accepted.values())
            outcome = [b["data"]["callback"] for b in bodies if b["type"] == "callback.outcome"]
            assert [(c["id"], c["outcome"], c["attempts"]) for c in outcome] == [(cb["id"], "no_answer", 1)]
            assert [b["data"]["callback"]["id"] for b in bodies if b["type"] == "callback.booked"] == [cb["id"]]
            sla = [b["data"] for b in bodies if b["type"] == "sla.breached"]
            assert [(d["ticket"]["id"], d["target"]) for d in sla] == [(tid, "first_response")] and sla[0]["why"]
            updates = [b["data"]["ticket"] for b in bodies if b["type"] == "ticket.updated"]
            mine = [u for u in updates if u["id"] == tid]
            # claimed, transferred, escalated by the breach, resolved: each state once
            assert {u["status"] for u in mine} >= {"assigned", "queued", "resolved"}
            assert any(u["department"] == "escalations" for u in mine)
            assert len({json.dumps(u, sort_keys=True) for u in updates}) == len(updates)  # no state twice
            assert any(u["id"] == cb["ticket_id"] for u in updates)
            texts = {b["data"]["message"]["text"] for b in bodies if b["type"] == "message.created"}
            assert "พัสดุหมายเลข TH123 ค่ะ" in texts

        await assert_a_restart_sends_nothing(_config(db_url, rx.url), rx, clock)
    finally:
        await rx.stop()


async def test_facts_noted_again_by_a_rerun_queue_no_second_event(sqlite_url: str) -> None:
    """A change's facts noted again for the same committed state (its job or handler run again after a crash)
    map to the ids already queued: no second delivery for the update, the breach or the callback outcome."""
    clock = FrozenClock(MONDAY_7AM_BKK)
    rx = Receiver(free_port(), SECRET)
    async with running_hub(_config(sqlite_url, rx.url), clock=clock) as h:
        await h.hub.webhooks.stop()
        a = await h.agent("a@example.com", departments=["support", "callbacks"])
        chat = await h.chat(lang="fa")
        tid = (await chat.say("سلام، سفارشم کجاست؟"))["ticket_id"]
        await chat.close()
        status, cb = await h.api("POST", "/api/callbacks", json=booking(lang="fa"))
        assert status == 201
        assert (await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", a, json={"outcome": "no_answer"}))[0] == 200
        clock.advance(hours=4)
        await h.hub.scheduler.tick()
        await h.settle()
        first = await _queued(h)
        assert FIXED_HERE <= {r.event for r in first.values()}
        why = next(r for r in first.values() if r.event == "sla.breached").body
        async with h.hub.db.write():
            facts.note("updated", tid)
            facts.note("breach", tid, "first_response", why)
            facts.note("callback.booked", cb["id"])
            facts.note("callback.updated", cb["id"])
            facts.note("updated", cb["ticket_id"])
        assert (await _queued(h)).keys() == first.keys()


async def test_without_endpoints_callbacks_updates_and_breaches_write_nothing(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    async with running_hub(callback_config(sqlite_url, scheduler_interval=3600), clock=clock) as h:
        assert h.hub.db.before_commit == []
        a = await h.agent("a@example.com", departments=["support", "callbacks"])
        chat = await h.chat(lang="en")
        tid = (await chat.say("Hello, where is my parcel?"))["ticket_id"]
        await chat.close()
        assert (await h.api("POST", f"/api/tickets/{tid}/claim", a))[0] == 200
        status, cb = await h.api("POST", "/api/callbacks", json=booking(lang="en"))
        assert status == 201
        assert (await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", a, json={"outcome": "no_answer"}))[0] == 200
        clock.advance(hours=4)
        await h.hub.scheduler.tick()
        await h.settle()
        async with h.hub.db.read() as conn:
            breached = (await conn.execute(select(tickets.c.breached).where(tickets.c.id == tid))).scalar_one()
            assert breached == ["first_response"]
            assert (await conn.execute(select(func.count()).select_from(wd))).scalar_one() == 0
