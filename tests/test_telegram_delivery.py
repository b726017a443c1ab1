"""Agent and bot replies out through the fake Bot API: languages, splitting, buttons, typing, 429, 403, 5xx,
and attachments fetched lazily with a size cap."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select

from hub.clock import FrozenClock
from hub.domain import Author, Button, Status
from hub.store.schema import outbox
from tests.fake_telegram import FakeTelegram, load, stored, telegram_hub, text_update, wait_stored
from tests.hubtest import RunningHub, hub_config, running_hub

CHAT = 7012345678


@asynccontextmanager
async def conversation(db_url: str, name: str = "text_th", **channel: Any) -> AsyncIterator[tuple[FakeTelegram, RunningHub, dict[str, str], int]]:
    """A hub with one Telegram customer message stored: (fake, hub, agent headers, ticket id)."""
    async with FakeTelegram() as fake, telegram_hub(db_url, fake, **channel) as h:
        fake.push(load(name))
        [row] = await wait_stored(h, 1)
        headers = await h.agent("agent@example.com")
        yield fake, h, headers, row.ticket_id


async def reply(h: RunningHub, headers: dict[str, str], tid: int, text: str) -> dict[str, Any]:
    status, msg = await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": text})
    assert status == 201, msg
    return msg


async def delivered(h: RunningHub, headers: dict[str, str], tid: int, message_id: int) -> dict[str, Any]:
    for _ in range(500):
        await h.settle()
        _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
        m = next(m for m in t["messages"] if m["id"] == message_id)
        if m["delivery"] != "pending":
            return {"ticket": t, "message": m}
    raise AssertionError("delivery did not finish")


async def test_thai_and_persian_round_trip(db_url: str) -> None:
    async with FakeTelegram() as fake, telegram_hub(db_url, fake) as h:
        fake.push(load("text_th"))
        fake.push(load("text_fa"))
        rows = await wait_stored(h, 2)
        assert {r.text for r in rows} == {load("text_th")["message"]["text"], load("text_fa")["message"]["text"]}
        headers = await h.agent()
        answers = {7012345678: "ได้รับเรื่องแล้วครับ จะตรวจสอบพัสดุหมายเลข ๔๕๘๒๑ ให้ภายในวันนี้",
                   6120987654: "سلام نسرین، سفارش ۴۵۸۲۱ فردا تحویل داده می‌شود. «ممنون از صبر شما»"}
        for r in rows:
            chat = int(r.provider_id.split(":")[0])
            msg = await reply(h, headers, r.ticket_id, answers[chat])
            done = await delivered(h, headers, r.ticket_id, msg["id"])
            assert done["message"]["delivery"] == "sent"
        assert {m["chat_id"]: m["text"] for m in fake.sent} == answers
        assert all("parse_mode" not in m for m in fake.sent)  # plain text: nothing in it is taken as markup


async def test_markup_characters_arrive_verbatim(sqlite_url: str) -> None:
    async with conversation(sqlite_url) as (fake, h, headers, tid):
        text = "Use *bold* _x_ <b>tag</b> [link](http://e.x) `code` & 5 < 6 > 4 \\ done"
        await delivered(h, headers, tid, (await reply(h, headers, tid, text))["id"])
        assert fake.sent[-1]["text"] == text


async def test_long_reply_is_split_on_word_boundaries(sqlite_url: str) -> None:
    async with conversation(sqlite_url) as (fake, h, headers, tid):
        text = " ".join(f"ข้อความ{i}" for i in range(850))  # ~9,300 characters
        msg = await reply(h, headers, tid, text)
        done = await delivered(h, headers, tid, msg["id"])
        parts = [m["text"] for m in fake.sent]
        assert len(text) > 8192 and len(parts) == 3 and all(len(p) <= 4096 for p in parts)
        assert " ".join(parts) == text
        assert done["message"]["delivery"] == "sent"


async def test_failed_part_of_a_split_reply_is_resent_alone(sqlite_url: str) -> None:
    async with conversation(sqlite_url) as (fake, h, headers, tid):
        fake.fail("sendMessage", 500, after=1)  # the second part fails once
        text = " ".join(["word"] * 2000)  # 9,999 characters: three parts
        done = await delivered(h, headers, tid, (await reply(h, headers, tid, text))["id"])
        assert done["message"]["delivery"] == "sent"
        assert len(fake.called("sendMessage")) == 4 and len(fake.sent) == 3
        assert " ".join(m["text"] for m in fake.sent) == text


async def test_a_send_in_flight_is_not_sent_again_when_the_clock_steps_past_its_lock(sqlite_url: str) -> None:
    """The outbox's lock expires by the wall clock so another process can take over a crashed sender's row; a
    clock stepping forward (NTP, a resumed laptop) must not make this process's own sweeper send it again."""
    clock = FrozenClock(datetime(2027, 3, 1, 3, 0, tzinfo=timezone.utc))
    async with FakeTelegram() as fake:
        config = hub_config(sqlite_url, channels={"telegram": fake.channel_config()})
        async with running_hub(config, clock=clock) as h:
            fake.push(load("text_th"))
            [row] = await wait_stored(h, 1)
            headers = await h.agent("agent@example.com")
            await h.settle()
            before = len(fake.called("sendMessage"))
            fake.held["sendMessage"] = asyncio.Event()
            msg = await reply(h, headers, row.ticket_id, "On its way")
            await fake.wait_for(lambda: len(fake.called("sendMessage")) == before + 1)
            clock.advance(hours=1)  # far past outbox.lock_timeout, while the send waits for its answer
            assert await h.hub.outbox.sweep() == 0
            await asyncio.sleep(0.2)  # the hub's own sweeper runs every 50 ms in tests
            fake.held.pop("sendMessage").set()
            assert (await delivered(h, headers, row.ticket_id, msg["id"]))["message"]["delivery"] == "sent"
            await h.hub.outbox.sweep()
            await h.settle()
            assert len(fake.called("sendMessage")) == before + 1


async def test_429_waits_retry_after_then_sends(sqlite_url: str) -> None:
    async with conversation(sqlite_url) as (fake, h, headers, tid):
        fake.fail("sendMessage", 429, retry_after=1)
        msg = await reply(h, headers, tid, "ขอบคุณที่รอครับ")
        await fake.wait_for(lambda: len(fake.called("sendMessage")) == 1)
        async with h.hub.db.read() as conn:
            row = (await conn.execute(select(outbox).where(outbox.c.message_id == msg["id"]))).one()
        assert "retry after 1" in row.last_error and row.state == "pending"
        done = await delivered(h, headers, tid, msg["id"])
        assert done["message"]["delivery"] == "sent" and len(fake.sent) == 1
        assert done["ticket"]["recipient_unreachable"] is None


async def test_403_blocked_marks_the_customer_unreachable(sqlite_url: str) -> None:
    async with conversation(sqlite_url) as (fake, h, headers, tid):
        fake.blocked.add(CHAT)
        done = await delivered(h, headers, tid, (await reply(h, headers, tid, "สวัสดีครับ"))["id"])
        assert done["message"]["delivery"] == "failed"
        assert "blocked" in done["message"]["delivery_error"]
        assert "blocked" in done["ticket"]["recipient_unreachable"]
        assert any(e["what"] == "unreachable" for e in done["ticket"]["trace"])
        assert len(fake.called("sendMessage")) == 1  # never retried


async def test_server_errors_are_retried_then_recorded_as_failed(sqlite_url: str) -> None:
    async with conversation(sqlite_url) as (fake, h, headers, tid):
        fake.fail("sendMessage", 502)
        done = await delivered(h, headers, tid, (await reply(h, headers, tid, "first"))["id"])
        assert done["message"]["delivery"] == "sent" and len(fake.called("sendMessage")) == 2
        fake.fail("sendMessage", 500, times=10)
        done = await delivered(h, headers, tid, (await reply(h, headers, tid, "second"))["id"])
        assert done["message"]["delivery"] == "failed" and "Internal Server Error" in done["message"]["delivery_error"]
        assert len(fake.called("sendMessage")) == 2 + h.config.outbox.max_attempts
        assert done["ticket"]["recipient_unreachable"] is None


async def test_buttons_become_an_inline_keyboard_and_a_press_comes_back(sqlite_url: str) -> None:
    async with conversation(sqlite_url, "text_fa") as (fake, h, headers, tid):
        msg = await h.hub.actions.post_automatic(
            tid, Author.BOT, "آیا پاسخ سؤال شما را داد؟", only_if=(Status.QUEUED,),
            buttons=(Button("بله", "helpful:yes"), Button("نه", "helpful:no"), Button("x" * 10, "p" * 65)),
        )
        assert msg is not None
        await delivered(h, headers, tid, msg.id)
        sent = fake.sent[-1]
        assert sent["reply_markup"] == {"inline_keyboard": [[{"text": "بله", "callback_data": "helpful:yes"},
                                                             {"text": "نه", "callback_data": "helpful:no"}]]}
        press = load("callback_query")
        press["callback_query"]["from"] = {"id": 6120987654, "is_bot": False, "first_name": "Nasrin", "language_code": "fa"}
        press["callback_query"]["message"] = {"message_id": sent["message_id"], "chat": {"id": 6120987654, "type": "private"},
                                              "date": 1767225600, "text": sent["text"], "reply_markup": sent["reply_markup"]}
        press["callback_query"]["data"] = "helpful:no"
        fake.push(press)
        rows = await wait_stored(h, 2)
        assert rows[-1].text == "نه" and rows[-1].raw["payload"] == "helpful:no" and rows[-1].ticket_id == tid
        assert rows[-1].meta["refs"] == [f"6120987654:{sent['message_id']}"]
        await fake.wait_for(lambda: fake.called("answerCallbackQuery"))


async def test_agent_typing_shows_as_a_chat_action(sqlite_url: str) -> None:
    async with conversation(sqlite_url) as (fake, h, headers, tid):
        await h.hub.typing_to_customer(tid)
        assert fake.called("sendChatAction") == [{"chat_id": str(CHAT), "action": "typing"}]


async def test_attachment_is_fetched_lazily_and_capped(sqlite_url: str) -> None:
    async with conversation(sqlite_url, "photo_caption", max_attachment=50_000) as (fake, h, headers, tid):
        [row] = await stored(h)
        url = f"/api/tickets/{tid}/messages/{row.id}/attachments/0"
        assert not fake.called("getFile")  # nothing downloaded until an agent opens it
        status, _ = await h.api("GET", url, headers)
        assert status == 404  # Telegram no longer has it
        photo = bytes(range(256)) * 100
        fake.add_file("AgACAgUAAxkBAAMMZ0photo-large", photo)
        async with h.session.get(f"{h.url}{url}", headers=headers) as r:
            assert r.status == 200 and r.content_type == "image/jpeg" and await r.read() == photo
        fake.add_file("AgACAgUAAxkBAAMMZ0photo-large", b"x" * 60_000)
        status, body = await h.api("GET", url, headers)
        assert status == 413 and body["error"]["code"] == "too_large"
        status, _ = await h.api("GET", url)
        assert status == 401


async def test_a_new_customer_gets_a_reply_in_the_same_chat(sqlite_url: str) -> None:
    async with FakeTelegram() as fake, telegram_hub(sqlite_url, fake) as h:
        fake.push(text_update(424242, 1, "Hi, is the store open on Sunday?"))
        [row] = await wait_stored(h, 1)
        headers = await h.agent()
        msg = await reply(h, headers, row.ticket_id, "Yes, 10:00-14:00.")
        done = await delivered(h, headers, row.ticket_id, msg["id"])
        assert fake.sent == [{"chat_id": 424242, "text": "Yes, 10:00-14:00.", "message_id": fake.sent[0]["message_id"]}]
        async with h.hub.db.read() as conn:
            from hub.store.schema import messages
            pid = (await conn.execute(select(messages.c.provider_id).where(messages.c.id == msg["id"]))).scalar()
        assert pid == f"424242:{fake.sent[0]['message_id']}" and done["message"]["delivery"] == "sent"
