"""Surveys on Telegram (inline buttons through the fake Bot API, then a typed comment), none to a customer who
blocked the bot, and after callbacks: on the channel the customer has once the call reached them, none for a
phone-only customer or a call that never reached anyone."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from hub.clock import FrozenClock
from tests.fake_telegram import USERNAME, FakeTelegram, text_update, user, wait_stored
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config

START = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
CHAT = 7012345678


def press(chat: int, message_id: int, data: str, qid: str) -> dict[str, Any]:
    bot = {"id": 123456, "is_bot": True, "first_name": "Acme Support", "username": USERNAME}
    message = {"message_id": message_id, "from": bot, "chat": {"id": chat, "first_name": "C", "type": "private"},
               "date": int(time.time()), "text": "survey"}
    return {"callback_query": {"id": qid, "from": user(chat), "message": message, "chat_instance": "1", "data": data}}


def keyboard(m: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


async def resolved_telegram(h: RunningHub, fake: FakeTelegram, text: str) -> tuple[dict[str, str], int]:
    fake.push(text_update(CHAT, 1, text, lang="th"))
    [row] = await wait_stored(h, 1)
    headers = await h.agent("agent@example.com", departments=["support"])
    status, _ = await h.api("POST", f"/api/tickets/{row.ticket_id}/reply", headers, json={"text": "เรียบร้อยแล้วครับ"})
    assert status == 201
    await fake.wait_for(lambda: fake.sent)
    status, _ = await h.api("POST", f"/api/tickets/{row.ticket_id}/resolve", headers)
    assert status == 200
    return headers, row.ticket_id


async def test_telegram_buttons_then_comment(db_url: str) -> None:
    clock = FrozenClock(START)
    async with FakeTelegram() as fake:
        config = hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}, channels={"telegram": fake.channel_config()})
        async with running_hub(config, clock=clock) as h:
            headers, tid = await resolved_telegram(h, fake, "พัสดุยังไม่มาถึงเลยครับ")
            clock.advance(hours=1, minutes=5)
            await h.hub.surveys.tick()
            ask = await fake.wait_for(lambda: next((m for m in fake.sent if keyboard(m)), None))
            assert "พอใจ" in ask["text"] and ask["chat_id"] == CHAT
            buttons = keyboard(ask)
            assert [b["text"] for b in buttons] == ["1", "2", "3", "4", "5"]
            assert all(b["callback_data"].startswith("survey:") for b in buttons)
            fake.push(press(CHAT, ask["message_id"], buttons[3]["callback_data"], "q1"))
            prompt = await fake.wait_for(lambda: next((m for m in fake.sent if "มีอะไรอยากบอก" in m["text"]), None))
            assert prompt["chat_id"] == CHAT
            fake.push(text_update(CHAT, 2, "พนักงานบริการดีมากค่ะ", lang="th"))
            await fake.wait_for(lambda: any("ขอบคุณสำหรับความคิดเห็น" in m["text"] for m in fake.sent))
            await h.settle()
            await h.hub.surveys.drain()
            _, res = await h.api("GET", f"/api/tickets/{tid}/surveys", headers)
            [s] = res["items"]
            assert (s["score"], s["comment"], s["via"], s["language"]) == (4, "พนักงานบริการดีมากค่ะ", "telegram", "th")
            assert s["complaint_ticket_id"] is None
            _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
            assert t["status"] == "resolved"  # the answers joined the ticket without reopening it
            assert [m["text"] for m in t["messages"] if m["direction"] == "in"][-1] == "พนักงานบริการดีมากค่ะ"
            assert fake.called("answerCallbackQuery")  # the pressed button stops spinning


async def test_no_survey_to_a_customer_who_blocked_the_bot(db_url: str) -> None:
    clock = FrozenClock(START)
    async with FakeTelegram() as fake:
        config = hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}, channels={"telegram": fake.channel_config()})
        async with running_hub(config, clock=clock) as h:
            headers, tid = await resolved_telegram(h, fake, "Where is my order?")
            fake.blocked.add(CHAT)
            status, _ = await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "One more thing"})
            await h.settle()
            status, _ = await h.api("POST", f"/api/tickets/{tid}/resolve", headers)
            clock.advance(hours=2)
            for _ in range(3):
                await h.hub.surveys.tick()
            _, res = await h.api("GET", f"/api/tickets/{tid}/surveys", headers)
            states = [(s["state"], s["reason"] or "") for s in res["items"]]
            assert states and all(st == "not_sent" and "cannot be reached on telegram" in why for st, why in states)
            assert not any(keyboard(m) for m in fake.sent)


async def test_callbacks_survey_after_reached_on_the_customers_chat_only(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    async with running_hub(callback_config(sqlite_url, scheduler_interval=3600, tickets={"closing_message": {}}), clock=clock) as h:
        a = await h.agent("a@example.com", departments=["callbacks"])
        chat = await h.chat(lang="en")
        await chat.say("please call me")
        _, on_chat = await h.api("POST", "/api/callbacks", json=booking(visitor_token=chat.token, lang="en"))
        _, phone_only = await h.api("POST", "/api/callbacks", json=booking(phone="0812345699", slot="2027-03-01T10:30:00+07:00"))
        _, missed = await h.api("POST", "/api/callbacks", json=booking(phone="0812345611", slot="2027-03-01T11:00:00+07:00"))
        for cb in (on_chat, phone_only):
            status, r = await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", a, json={"outcome": "reached"})
            assert status == 200 and r["status"] == "done", r
        assert (await h.api("POST", f"/api/callbacks/{missed['id']}/outcome", a, json={"outcome": "wrong_number"}))[0] == 200
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        ask = await chat.expect("message", author="system", timeout=5)
        while "How satisfied" not in ask["text"]:
            ask = await chat.expect("message", author="system", timeout=5)
        assert len(ask["buttons"]) == 5
        _, res = await h.api("GET", f"/api/tickets/{on_chat['ticket_id']}/surveys", a)
        assert res["items"][0]["state"] == "sent" and res["items"][0]["via"] == "webchat"
        _, res = await h.api("GET", f"/api/tickets/{phone_only['ticket_id']}/surveys", a)
        assert res["items"][0]["state"] == "not_sent" and "no channel to answer on" in res["items"][0]["reason"]
        _, res = await h.api("GET", f"/api/tickets/{missed['ticket_id']}/surveys", a)
        assert res["items"] == []  # closed as a wrong number: never resolved, never asked
