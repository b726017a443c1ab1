"""Outbound webhooks against a real local receiver: signing, retries through its downtime, de-duplication by
event id, the address guard, the admin delivery log."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from hub.config import ConfigError
from hub.store.schema import webhook_deliveries as wd
from hub.webhooks.events import from_bus
from hub.webhooks.signing import signature, verify
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.webhook_receiver import Receiver, free_port

SECRET = "a-long-shared-secret-0123456789"


def _config(db_url: str, url: str, over: dict[str, Any] | None = None, **endpoint: Any) -> Any:
    hook = {"name": "crm", "url": url, "secret": SECRET, "allow_private": True,
            "events": ["ticket.created", "message.created", "ticket.resolved"], **endpoint}
    return hub_config(db_url, webhooks={"endpoints": [hook], "backoff_base": 0.05, "backoff_max": 0.2,
                                        "sweep_interval": 0.05, "max_attempts": 200, "timeout": 2, "lock_timeout": 10},
                      **(over or {}))


async def _rows(h: RunningHub) -> list[Any]:
    async with h.hub.db.read() as conn:
        return list((await conn.execute(select(wd).order_by(wd.c.id))).all())


async def _until(check: Any, timeout: float = 15.0) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        got = await check()
        if got:
            return got
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_signed_events_survive_receiver_downtime(db_url: str) -> None:
    rx = Receiver(free_port(), SECRET, fail_first=1)
    async with running_hub(_config(db_url, rx.url)) as h:
        chat = await h.chat(name="Dao", lang="th")
        await chat.say("สวัสดีค่ะ สั่งของไปแล้วยังไม่ได้รับ")
        await h.settle()

        # The receiver is down: both events are kept and retried, never dropped.
        async def retried() -> bool:
            rows = await _rows(h)
            return len(rows) == 2 and all(r.attempts >= 2 and r.state == "pending" for r in rows)

        await _until(retried)
        rows = await _rows(h)
        assert {r.event for r in rows} == {"ticket.created", "message.created"}
        assert all("cannot connect" in (r.last_error or "") for r in rows)

        # Up again (its first answer a 500, retried too): each event arrives, signed, under one id.
        await rx.start()
        try:
            async def delivered() -> bool:
                return all(r.state == "sent" for r in await _rows(h))

            await _until(delivered)
            assert rx.got[0]["valid"] and all(g["valid"] for g in rx.got)
            assert len(rx.accepted) == 2
            by_type = {b["type"]: b for b in rx.accepted.values()}
            created = by_type["ticket.created"]
            tid = created["data"]["ticket"]["id"]
            assert created["data"]["ticket"]["channel"] == "webchat"
            assert by_type["message.created"]["data"]["message"]["text"] == "สวัสดีค่ะ สั่งของไปแล้วยังไม่ได้รับ"
            for g in rx.got:
                assert g["headers"]["X-Hub-Event-Id"] == json.loads(g["body"])["id"]
                assert g["headers"]["X-Hub-Event"] == json.loads(g["body"])["type"]
                assert g["headers"]["Content-Type"].startswith("application/json")
            # The rejected first try and its retry carried the same event id (what a receiver de-duplicates on).
            first_id = rx.got[0]["headers"]["X-Hub-Event-Id"]
            assert sum(g["headers"]["X-Hub-Event-Id"] == first_id for g in rx.got) >= 2

            # A resolution is one ticket.resolved, however often the resolved ticket is published again.
            admin = await h.agent("admin@example.com", "admin")
            status, _ = await h.api("POST", f"/api/tickets/{tid}/resolve", admin)
            assert status == 200
            async with h.hub.db.read() as conn:
                from hub.store import tickets as ticket_store
                t = await ticket_store.get_ticket(conn, tid)
            await h.hub.events.ticket("ticket.updated", t)  # published again (another process, a retried job)
            await _until(lambda: _has(rx, "ticket.resolved"))
            await h.hub.webhooks.drain()
            assert [b["type"] for b in rx.accepted.values()].count("ticket.resolved") == 1
            assert sum(r.event == "ticket.resolved" for r in await _rows(h)) == 1
            assert "ticket.updated" not in [b["type"] for b in rx.accepted.values()]  # not subscribed
        finally:
            await rx.stop()


async def _has(rx: Receiver, kind: str) -> bool:
    return any(b["type"] == kind for b in rx.accepted.values())


async def test_slow_receiver_is_retried_and_log_is_admin_only(sqlite_url: str) -> None:
    rx = Receiver(free_port(), SECRET, delay_first=3)
    cfg = _config(sqlite_url, rx.url, events=["ticket.created"])
    cfg = cfg.model_copy(update={"webhooks": cfg.webhooks.model_copy(update={"timeout": 0.5})})
    await rx.start()
    try:
        async with running_hub(cfg) as h:
            chat = await h.chat(name="Sara", lang="fa")
            await chat.say("سلام، سفارشم نرسیده")
            await h.settle()
            await _until(lambda: _has(rx, "ticket.created"))
            row = await _until(lambda: _sent(h))
            assert row.attempts >= 2  # the first try timed out and was retried

            agent = await h.agent("agent@example.com")
            status, _ = await h.api("GET", "/api/webhooks/deliveries", agent)
            assert status == 403
            admin = await h.agent("admin@example.com", "admin")
            status, body = await h.api("GET", "/api/webhooks", admin)
            assert status == 200 and body["items"][0]["name"] == "crm" and "secret" not in body["items"][0]
            assert body["items"][0]["counts"]["sent"] == 1
            status, log = await h.api("GET", "/api/webhooks/deliveries?endpoint=crm&state=sent", admin)
            assert status == 200 and log["items"][0]["event"] == "ticket.created" and log["items"][0]["state"] == "sent"
            status, one = await h.api("GET", f"/api/webhooks/deliveries/{row.id}", admin)
            assert one["payload"]["data"]["ticket"]["id"] == one["payload"]["data"]["ticket"]["id"]
            assert one["payload"]["id"] == row.event_id
            status, err = await h.api("GET", "/api/webhooks/deliveries?state=lost", admin)
            assert status == 422 and err["error"]["field"] == "state"

            # Send again on demand: the same event id reaches the receiver once more.
            before = len(rx.got)
            status, again = await h.api("POST", f"/api/webhooks/deliveries/{row.id}/redeliver", admin)
            assert status == 202 and again["state"] in ("pending", "sent")
            await _until(lambda: _count_above(rx, before))
            assert rx.got[-1]["headers"]["X-Hub-Event-Id"] == row.event_id
            status, _ = await h.api("POST", "/api/webhooks/deliveries/99999/redeliver", admin)
            assert status == 404
    finally:
        await rx.stop()


async def _sent(h: RunningHub) -> Any:
    rows = await _rows(h)
    return rows[0] if rows and rows[0].state == "sent" else None


async def _count_above(rx: Receiver, n: int) -> bool:
    return len(rx.got) > n


async def test_private_addresses_are_refused_unless_allowed(sqlite_url: str) -> None:
    rx = Receiver(free_port(), SECRET)
    await rx.start()
    try:
        cfg = _config(sqlite_url, rx.url, allow_private=False)
        cfg = cfg.model_copy(update={"webhooks": cfg.webhooks.model_copy(update={"max_attempts": 2})})
        async with running_hub(cfg) as h:
            chat = await h.chat(name="Ann")
            await chat.say("hello")
            await h.settle()

            async def failed() -> bool:
                rows = await _rows(h)
                return bool(rows) and all(r.state == "failed" for r in rows)

            await _until(failed)
            assert all("blocked" in r.last_error for r in await _rows(h))
            assert rx.got == []
        # A host name that resolves to loopback is refused the same way (the check runs on resolved addresses).
        cfg = _config(sqlite_url.replace("hub.db", "hub2.db"), f"http://localhost:{rx.port}/hook", allow_private=False)
        cfg = cfg.model_copy(update={"webhooks": cfg.webhooks.model_copy(update={"max_attempts": 1})})
        async with running_hub(cfg) as h:
            chat = await h.chat(name="Ben")
            await chat.say("hello")
            await h.settle()
            await _until(lambda: _all_failed(h))
            assert all("blocked" in r.last_error for r in await _rows(h))
            assert rx.got == []
    finally:
        await rx.stop()


async def _all_failed(h: RunningHub) -> bool:
    rows = await _rows(h)
    return bool(rows) and all(r.state == "failed" for r in rows)


@pytest.mark.parametrize(
    ("endpoint", "key"),
    [
        ({"url": "ftp://example.com/x"}, "webhooks.endpoints.0.url"),
        ({"url": "file:///etc/passwd"}, "webhooks.endpoints.0.url"),
        ({"url": "https://user:pw@example.com/x"}, "webhooks.endpoints.0.url"),
        ({"secret": "short"}, "webhooks.endpoints.0.secret"),
        ({"events": ["ticket.exploded"]}, "webhooks.endpoints.0.events"),
        ({"colour": "red"}, "webhooks.endpoints.0.colour"),
    ],
)
def test_bad_webhook_config_names_the_key(endpoint: dict[str, Any], key: str) -> None:
    base = {"name": "crm", "url": "https://crm.example.com/hook", "secret": SECRET}
    with pytest.raises(ConfigError) as err:
        hub_config("sqlite+aiosqlite:///x.db", webhooks={"endpoints": [{**base, **endpoint}]})
    assert key in str(err.value)


def test_signature_and_event_ids() -> None:
    body = b'{"id":"x"}'
    sig = signature(SECRET, 1700000000, body)
    assert verify(SECRET, "1700000000", body, sig, now=1700000100)
    assert not verify(SECRET, "1700000000", body + b" ", sig, now=1700000100)  # body changed
    assert not verify(SECRET, "1700000001", body, sig, now=1700000100)  # timestamp changed
    assert not verify(SECRET, "1700000000", body, sig, now=1700009999)  # too old: a replay
    assert not verify("another-secret-0123456789", "1700000000", body, sig, now=1700000100)

    ticket = {"id": 7, "status": "resolved", "resolved_at": "2026-01-01T10:00:00+00:00"}
    a, b = from_bus({"type": "ticket.updated", "ticket": ticket}), from_bus({"type": "ticket.updated", "ticket": ticket})
    assert [e.type for e in a] == ["ticket.updated", "ticket.resolved"]
    assert a[0].id == b[0].id and a[1].id == b[1].id  # one committed state, one resolution: one event each
    later = from_bus({"type": "ticket.updated", "ticket": {**ticket, "updated_at": "2026-01-01T10:05:00+00:00"}})
    assert later[0].id != a[0].id and later[1].id == a[1].id  # another change is another update, same resolution
    reopened = from_bus({"type": "ticket.updated", "ticket": {**ticket, "resolved_at": "2026-01-02T10:00:00+00:00"}})
    assert reopened[1].id != a[1].id  # resolved again later: a new event
    cb = {"id": 3, "attempts": 1, "outcome": "no_answer"}
    assert [e.type for e in from_bus({"type": "callback.updated", "callback": cb})] == ["callback.outcome"]
    assert from_bus({"type": "callback.updated", "callback": {**cb, "outcome": None}}) == []
    assert [e.type for e in from_bus({"type": "callback.created", "callback": cb})] == ["callback.booked"]
    sla = from_bus({"type": "sla.breach", "ticket": {"id": 1, "first_response_due": "x"}, "target": "first_response", "why": "w"})
    assert sla[0].type == "sla.breached" and sla[0].data["target"] == "first_response"
    # A callback missed: its own event, the same for the same callback and window, another for another window.
    missed = {"type": "sla.breach", "ticket": {"id": 1, "first_response_due": "x"}, "target": "first_response",
              "callback": {"id": 3, "window_end": "2027-03-01T10:30:00+07:00"}}
    m1, m2 = from_bus(missed)[0], from_bus(missed)[0]
    assert m1.id == m2.id != sla[0].id and m1.data["callback"]["id"] == 3
    moved = from_bus({**missed, "callback": {"id": 3, "window_end": "2027-03-02T10:30:00+07:00"}})[0]
    assert moved.id != m1.id
    assert from_bus({"type": "typing", "ticket_id": 1}) == []
    survey = {"id": 4, "ticket_id": 7, "score": 2, "answers": 1}
    first = from_bus({"type": "survey.answered", "event_id": "survey.answered:4:1", "survey": survey, "ticket": ticket})
    again = from_bus({"type": "survey.answered", "event_id": "survey.answered:4:1", "survey": survey, "ticket": ticket})
    changed = from_bus({"type": "survey.answered", "event_id": "survey.answered:4:2", "survey": {**survey, "score": 4}})
    assert first[0].type == "survey.answered" and first[0].data["survey"]["score"] == 2
    assert first[0].id == again[0].id != changed[0].id


def test_openapi_describes_every_webhook_event() -> None:
    import yaml

    from hub.web.public import OPENAPI
    from hub.webhooks.config import EVENTS

    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")  # the `webhooks` section is OpenAPI 3.1
    assert set(spec["webhooks"]) == set(EVENTS)


async def test_survey_answers_reach_the_receiver_once_each(db_url: str) -> None:
    """A Thai widget customer scores 2 and comments: each stored answer is one survey.answered event, queued in the
    answer's own transaction and delivered once although the bus publishes it again after the commit."""
    from datetime import datetime, timezone

    from hub.clock import FrozenClock
    from tests.test_surveys_chat import resolved_chat

    clock = FrozenClock(datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc))
    rx = Receiver(free_port(), SECRET)
    rx.now = lambda: clock.now().timestamp()  # signatures carry the hub's (frozen) time
    await rx.start()
    try:
        # The survey sweep is run by hand (scheduler_interval keeps the worker idle), as in the survey tests.
        config = _config(db_url, rx.url, {"scheduler_interval": 3600}, events=["survey.answered"])
        async with running_hub(config, clock=clock) as h:
            await h.add_agent("agent@example.com", departments=["support"])
            chat, headers, tid = await resolved_chat(h, clock, "ของที่สั่งยังไม่มาส่งเลยค่ะ", lang="th")
            clock.advance(hours=2)
            await h.hub.surveys.tick()
            ask = await chat.expect("message", author="system")
            while not ask.get("buttons"):  # a closing notice may come first; the survey is the one with buttons
                ask = await chat.expect("message", author="system")
            await chat.say("2", payload=ask["buttons"][1]["payload"])
            await chat.expect("message", author="system")
            await chat.say("พนักงานส่งของไม่โทรมาเลย")
            await h.settle()
            await h.hub.surveys.drain()

            async def both() -> bool:
                return len(rx.accepted) == 2

            await _until(both)
            await h.hub.webhooks.drain()
            events = sorted(rx.accepted.values(), key=lambda b: b["data"]["survey"]["answers"])
            assert [e["type"] for e in events] == ["survey.answered", "survey.answered"]
            assert [e["data"]["survey"]["score"] for e in events] == [2, 2]
            assert events[1]["data"]["survey"]["comment"] == "พนักงานส่งของไม่โทรมาเลย"
            assert events[0]["data"]["ticket"]["id"] == tid and events[0]["data"]["survey"]["language"] == "th"
            assert all(g["valid"] for g in rx.got)
            assert len(await _rows(h)) == 2  # one row per stored answer, none doubled by the bus event
    finally:
        await rx.stop()


async def test_callback_booked_and_outcome(sqlite_url: str) -> None:
    from hub.clock import FrozenClock
    from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config

    clock = FrozenClock(MONDAY_7AM_BKK)
    rx = Receiver(free_port(), SECRET)
    rx.now = lambda: clock.now().timestamp()
    hook = {"name": "crm", "url": rx.url, "secret": SECRET, "allow_private": True, "events": ["callback.booked", "callback.outcome"]}
    config = callback_config(sqlite_url, webhooks={"endpoints": [hook], "sweep_interval": 0.05, "backoff_base": 0.05})
    await rx.start()
    try:
        async with running_hub(config, clock=clock) as h:
            a = await h.agent("a@example.com", departments=["callbacks"])
            status, cb = await h.api("POST", "/api/callbacks", json=booking(name="สมชาย"))
            assert status == 201
            status, _ = await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", a, json={"outcome": "no_answer"})
            assert status == 200

            async def two() -> bool:
                return len(rx.accepted) == 2

            await _until(two)
            got = {b["type"]: b["data"]["callback"] for b in rx.accepted.values()}
            assert got["callback.booked"]["id"] == cb["id"] and got["callback.booked"]["outcome"] is None
            assert got["callback.outcome"]["outcome"] == "no_answer" and got["callback.outcome"]["attempts"] == 1
            assert all(g["valid"] for g in rx.got)
    finally:
        await rx.stop()


async def test_sla_breach_is_one_event(sqlite_url: str) -> None:
    """A Persian complaint left unanswered past its 15 minutes: one sla.breached, however often the breach runs."""
    from hub.clock import FrozenClock
    from tests.test_sla_flow import COMPLAINTS, _job, at, escalation_config, open_ticket, tick

    clock = FrozenClock(at(1, 10))
    rx = Receiver(free_port(), SECRET)
    rx.now = lambda: clock.now().timestamp()
    hook = {"name": "crm", "url": rx.url, "secret": SECRET, "allow_private": True, "events": ["sla.breached"]}
    config = escalation_config(sqlite_url, webhooks={"endpoints": [hook], "sweep_interval": 0.05, "backoff_base": 0.05})
    await rx.start()
    try:
        async with running_hub(config, clock=clock) as h:
            tid = await open_ticket(h, COMPLAINTS["fa"], "fa")
            clock.at = at(1, 10, 15)
            await tick(h)
            await _until(lambda: _has(rx, "sla.breached"))
            await h.hub.sla.breach(_job(tid, "first_response"))  # the job run again changes nothing
            await tick(h)
            await h.hub.webhooks.drain()
            [event] = rx.accepted.values()
            assert event["data"]["ticket"]["id"] == tid and event["data"]["target"] == "first_response"
            assert event["data"]["ticket"]["department"] == "escalations" and "escalat" in event["data"]["why"]
            assert len(await _rows(h)) == 1 and rx.got[0]["valid"]
    finally:
        await rx.stop()


async def test_ticket_created_is_queued_with_the_ticket(sqlite_url: str) -> None:
    """Without the after-commit path (as if the process died right after the commit), ticket.created still goes
    out: it was queued in the transaction that opened the ticket."""
    rx = Receiver(free_port(), SECRET)
    await rx.start()
    try:
        async with running_hub(_config(sqlite_url, rx.url, events=["ticket.created"])) as h:
            h.hub.bus.taps.remove(h.hub.webhooks.on_publish)
            chat = await h.chat(name="Mina", lang="fa")
            ack = await chat.say("سلام، بسته‌ام نرسیده")
            await _until(lambda: _has(rx, "ticket.created"))
            [event] = rx.accepted.values()
            assert event["data"]["ticket"]["id"] == ack["ticket_id"]
    finally:
        await rx.stop()


async def test_a_callback_not_made_in_its_window_is_one_sla_breach(sqlite_url: str) -> None:
    """No outcome by the 10:30 call-by time: one sla.breached with the callback, however often the job runs."""
    from hub.clock import FrozenClock
    from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config

    clock = FrozenClock(MONDAY_7AM_BKK)
    rx = Receiver(free_port(), SECRET)
    rx.now = lambda: clock.now().timestamp()
    hook = {"name": "crm", "url": rx.url, "secret": SECRET, "allow_private": True, "events": ["sla.breached"]}
    config = callback_config(sqlite_url, scheduler_interval=3600,
                             webhooks={"endpoints": [hook], "sweep_interval": 0.05, "backoff_base": 0.05})
    await rx.start()
    try:
        async with running_hub(config, clock=clock) as h:
            _, cb = await h.api("POST", "/api/callbacks", json=booking())
            clock.advance(hours=3, minutes=29)  # 10:29: due, still inside the window
            await h.hub.scheduler.tick()
            await h.settle()
            await h.hub.webhooks.drain()
            assert not rx.accepted
            clock.advance(minutes=2)  # 10:31
            for _ in range(2):
                await h.hub.scheduler.tick()
                await h.settle()
            await _until(lambda: _has(rx, "sla.breached"))
            await h.hub.webhooks.drain()
            [event] = rx.accepted.values()
            data = event["data"]
            assert data["callback"]["id"] == cb["id"] and data["ticket"]["id"] == cb["ticket_id"]
            assert data["target"] == "first_response" and f"callback {cb['id']} not made" in data["why"]
            assert len(await _rows(h)) == 1 and rx.got[0]["valid"]
    finally:
        await rx.stop()
