"""Callbacks booked by an agent for a Telegram or email customer: the confirmation (time in the customer's zone)
and the reminder reach the customer on their own channel, through a fake Bot API and a real aiosmtpd."""
from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.callbacks.texts import TEXTS
from hub.i18n import tr
from hub.clock import FrozenClock
from hub.config import Config
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from hub.store.schema import callbacks
from tests.fake_telegram import USERNAME, FakeTelegram, load, text_update, user, wait_stored
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.mailtest import Smtpd, email_channel, fixture, smtpd  # noqa: F401  (fixture)
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, WEEKDAYS_9_18

SOMCHAI = 7012345678  # tests/data/telegram/contact.json: he shares his own contact, +66 81 234 5678
FAQ = str(Path(__file__).resolve().parents[1] / "faq.yaml")
QUIET = {"scheduler_interval": 3600}  # the test ticks the scheduler itself


def config(db_url: str, channels: dict[str, Any], **over: Any) -> Config:
    cb = {"enabled": True, "slot_minutes": 30, "calls_per_agent_per_slot": 1, "agents_on_shift": 1,
          "reminder_before": "15m", "retry_delay": "30m", "max_attempts": 3}
    return hub_config(
        db_url,
        channels={**channels, "callback": cb},
        business_hours={"tz": "Asia/Bangkok", "weekly": WEEKDAYS_9_18, "holidays": []},
        departments=[{"name": "support", "default": True}, {"name": "callbacks"}],
        **QUIET, **over,
    )


@asynccontextmanager
async def telegram_callbacks(db_url: str, **over: Any) -> AsyncIterator[tuple[FakeTelegram, RunningHub, FrozenClock]]:
    clock = FrozenClock(MONDAY_7AM_BKK)
    async with FakeTelegram() as fake:
        async with running_hub(config(db_url, {"telegram": fake.channel_config()}, **over), clock=clock) as h:
            yield fake, h, clock


def sent_to(fake: FakeTelegram, chat: int, needle: str) -> list[dict[str, Any]]:
    return [m for m in fake.called("sendMessage") if str(m.get("chat_id")) == str(chat) and needle in str(m.get("text", ""))]


async def tick(h: RunningHub) -> None:
    await h.hub.scheduler.tick()
    await h.settle()


async def test_telegram_customer_gets_confirmation_and_reminder_in_their_zone(db_url: str) -> None:
    async with telegram_callbacks(db_url) as (fake, h, clock):
        fake.push(text_update(SOMCHAI, 14, "Please call me back about my order", first="Somchai"))
        fake.push(load("contact"))
        rows = await wait_stored(h, 2)
        tid = rows[0].ticket_id
        assert rows[1].ticket_id == tid
        await h.settle()
        agent = await h.agent("a@example.com", departments=["callbacks"])
        # 10:00 in Bangkok is 06:30 in Tehran: the customer said they are in Tehran.
        status, cb = await h.api("POST", f"/api/tickets/{tid}/callback", agent,
                                 json={"slot": "2027-03-01T10:00:00+07:00", "tz": "Asia/Tehran", "topic": "order"})
        assert status == 201, cb
        assert cb["ticket_id"] == tid and cb["tz"] == "Asia/Tehran" and cb["window_start"] == "2027-03-01T06:30:00+03:30"
        _, full = await h.api("GET", f"/api/callbacks/{cb['id']}", agent)
        assert full["phone"] == "+66812345678"  # from the shared contact
        await fake.wait_for(lambda: sent_to(fake, SOMCHAI, "06:30"))
        [confirm] = sent_to(fake, SOMCHAI, "06:30")
        assert "between Monday 1 March 2027, 06:30 and 07:00 (Asia/Tehran)" in confirm["text"] and f"/callback/{cb['id']}?t=" in confirm["text"]
        assert "5678" not in confirm["text"]  # the number is masked on the written channel
        # The reminder, 15 minutes before, goes to the same chat once however often the scheduler runs.
        clock.advance(hours=2, minutes=46)
        await tick(h)
        await tick(h)
        await fake.wait_for(lambda: len(sent_to(fake, SOMCHAI, "06:30")) == 2)
        await h.settle()
        assert len(sent_to(fake, SOMCHAI, "06:30")) == 2
        reminder = sent_to(fake, SOMCHAI, "06:30")[-1]
        assert reminder is not confirm and "Monday 1 March 2027, 06:30 and 07:00 (Asia/Tehran)" in reminder["text"]
        _, t = await h.api("GET", f"/api/tickets/{tid}", agent)
        assert t["kind"] == "callback" and t["channel"] == "telegram"
        assert any("booked by agent" in tr["why"] for tr in t["trace"])
        # The slot holds one call: the next booking gets 409 with the next free slots, in the asked zone.
        status, err = await h.api("POST", f"/api/tickets/{tid}/callback", agent, json={"slot": "2027-03-01T10:00:00+07:00", "tz": "Asia/Tehran"})
        assert status == 409 and err["error"]["slots"][0]["start"] == "2027-03-01T07:00:00+03:30"


async def test_agent_booking_validation(sqlite_url: str) -> None:
    async with telegram_callbacks(sqlite_url) as (fake, h, _):
        fake.push(text_update(5550001111, 3, "hello", first="Anna"))
        [row] = await wait_stored(h, 1)
        await h.settle()
        agent = await h.agent("a@example.com", departments=["callbacks"])
        path = f"/api/tickets/{row.ticket_id}/callback"
        slot = {"slot": "2027-03-01T11:00:00+07:00", "tz": "Asia/Bangkok"}
        assert (await h.api("POST", path, json=slot))[0] == 401
        # No shared contact: the phone must be given.
        status, err = await h.api("POST", path, agent, json=slot)
        assert status == 422 and err["error"]["field"] == "phone"
        for body, field in (({**slot, "phone": "12"}, "phone"), ({**slot, "phone": "0812345678", "tz": "Mars/Base"}, "tz"),
                            ({"slot": "2027-03-01T08:00:00+07:00", "tz": "Asia/Bangkok", "phone": "0812345678"}, "slot"),
                            ({"tz": "Asia/Bangkok", "phone": "0812345678"}, "window_start")):
            status, err = await h.api("POST", path, agent, json=body)
            assert status == 422 and err["error"]["field"] == field, (body, err)
        assert (await h.api("POST", "/api/tickets/99999/callback", agent, json={**slot, "phone": "0812345678"}))[0] == 404
        status, cb = await h.api("POST", path, agent, json={**slot, "phone": "081 234 5678", "request_id": "agent-req-0001"})
        assert status == 201 and cb["ticket_id"] == row.ticket_id
        again = await h.api("POST", path, agent, json={**slot, "phone": "081 234 5678", "request_id": "agent-req-0001"})
        assert again[0] == 200 and again[1]["id"] == cb["id"]
        await fake.wait_for(lambda: sent_to(fake, 5550001111, "11:00"))


async def test_email_customer_gets_threaded_auto_submitted_confirmation(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    clock = FrozenClock(MONDAY_7AM_BKK)
    async with running_hub(config(sqlite_url, {"email": email_channel(dovecot, smtpd.port)}), clock=clock) as h:
        agent = await h.agent("a@example.com", departments=["callbacks"])
        await dovecot.append(fixture("thai_tis620.eml"))

        async def ticket_id() -> int | None:
            _, page = await h.api("GET", "/api/tickets?channel=email", agent)
            return page["items"][0]["id"] if page["items"] else None

        tid = await wait_until(ticket_id)
        await h.settle()
        before = len(smtpd.recorder.messages)
        status, cb = await h.api("POST", f"/api/tickets/{tid}/callback", agent,
                                 json={"window_start": "2027-03-01T14:00:00", "window_end": "2027-03-01T15:00:00",
                                       "tz": "Asia/Bangkok", "phone": "+66 81 234 5678"})
        assert status == 201, cb
        assert cb["ticket_id"] == tid  # the mail thread's own ticket, not a new phone-only one

        def confirmations() -> list[Any]:
            out = []
            for i in range(before, len(smtpd.recorder.messages)):
                mail = smtpd.recorder.parsed(i)
                if "14:00" in mail.get_body(("plain",)).get_content():
                    out.append(mail)
            return out

        await wait_until(lambda: confirmations())
        [mail] = confirmations()
        assert smtpd.recorder.messages[-1][1] == ["somchai@example.co.th"]
        assert mail["In-Reply-To"] == "<th-tis620-1@example.co.th>"
        assert "<th-tis620-1@example.co.th>" in mail["References"]
        assert "callback:" not in mail["References"]  # the booking's own record is not a mail to thread on
        assert mail["Auto-Submitted"] == "auto-replied"
        body = mail.get_body(("plain",)).get_content()
        # The customer wrote in Thai: the day in Thai with the Buddhist year, the zone by its name.
        # The Gregorian year appears nowhere in the words (the manage link's port and token may hold any digits).
        words = re.sub(r"https?://\S+", "", body)
        assert "วันจันทร์ที่ 1 มีนาคม 2570 เวลา 14:00 น. ถึง 15:00 (Asia/Bangkok)" in body and "2027" not in words
        assert f"/callback/{cb['id']}?t=" in body
        assert f"[#{tid}]" in str(mail["Subject"])


def keyboard(m: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def offers(fake: FakeTelegram, chat: int) -> list[dict[str, Any]]:
    return [m for m in fake.sent if m["chat_id"] == chat and any(b["callback_data"].startswith("callback:") for b in keyboard(m))]


def press(chat: int, message_id: int, data: str, qid: str) -> dict[str, Any]:
    """A button press on one of the bot's messages, as Telegram sends it."""
    bot = {"id": 123456, "is_bot": True, "first_name": "Acme Support", "username": USERNAME}
    message = {"message_id": message_id, "from": bot, "chat": {"id": chat, "first_name": "C", "type": "private"},
               "date": int(time.time()), "text": "Pick a time"}
    return {"callback_query": {"id": qid, "from": user(chat), "message": message, "chat_instance": "1", "data": data}}


def contact(chat: int, message_id: int, phone: str) -> dict[str, Any]:
    u = text_update(chat, message_id, "")
    del u["message"]["text"]
    u["message"]["contact"] = {"phone_number": phone, "first_name": "C", "user_id": chat}
    return u


async def booked(h: RunningHub) -> list[Any]:
    async with h.hub.db.read() as conn:
        return list((await conn.execute(select(callbacks).order_by(callbacks.c.id))).all())


async def test_telegram_customer_books_from_offered_buttons(sqlite_url: str) -> None:
    anna = 5550001111
    async with telegram_callbacks(sqlite_url, bot={"enabled": True, "knowledge_base": FAQ}) as (fake, h, _):
        fake.push(text_update(SOMCHAI, 20, "/callback"))
        await fake.wait_for(lambda: offers(fake, SOMCHAI))
        [offer] = offers(fake, SOMCHAI)
        buttons = keyboard(offer)
        # Monday 07:00 in Bangkok: the first free slot is 09:00 (02:00 UTC), shown in the business zone.
        assert buttons[0]["callback_data"] == "callback:2027-03-01T02:00:00+00:00" and buttons[0]["text"] == "Mon 1 Mar 09:00"
        assert "Asia/Bangkok" in offer["text"] and len(buttons) == 5
        # No phone number yet: the press asks for the contact and books nothing.
        fake.push(press(SOMCHAI, offer["message_id"], buttons[0]["callback_data"], "q1"))
        await fake.wait_for(lambda: any(m["text"] in [tr(lang, TEXTS["need_contact"]) for lang in ("en", "th", "fa")] for m in fake.sent))
        await h.settle()
        assert await booked(h) == []
        fake.push(load("contact"))
        await wait_stored(h, 3)
        fake.push(press(SOMCHAI, offer["message_id"], buttons[0]["callback_data"], "q2"))
        await fake.wait_for(lambda: sent_to(fake, SOMCHAI, "/callback/1?t="))
        await h.settle()
        [cb] = await booked(h)
        assert cb.phone == "+66812345678" and cb.tz == "Asia/Bangkok" and cb.status == "scheduled"
        rows = await wait_stored(h, 3)
        assert cb.ticket_id == rows[0].ticket_id  # the chat's own ticket
        confirm = sent_to(fake, SOMCHAI, "/callback/1?t=")[-1]
        # The day written out as the customer reads it (English here), the zone by its name.
        assert "between Monday 1 March 2027, 09:00 and 09:30 (Asia/Bangkok)" in confirm["text"]
        assert "Asia/Bangkok" in confirm["text"] and not keyboard(confirm)
        # The press delivered again (same callback id) books nothing more.
        fake.push(press(SOMCHAI, offer["message_id"], buttons[0]["callback_data"], "q2"))
        # Another customer presses the same (now full) slot: told so, with the slots still free.
        fake.push(contact(anna, 5, "+66 89 765 4321"))
        await wait_stored(h, 4)
        fake.push(press(anna, 1, buttons[0]["callback_data"], "q3"))
        await fake.wait_for(lambda: offers(fake, anna))
        [taken] = offers(fake, anna)
        assert taken["text"] in [tr(lang, TEXTS["taken"], tz="Asia/Bangkok") for lang in ("en", "th", "fa")]
        assert keyboard(taken)[0]["callback_data"] == "callback:2027-03-01T02:30:00+00:00"
        await h.settle()
        assert len(await booked(h)) == 1


async def test_telegram_message_routed_as_callback_gets_the_offer(sqlite_url: str) -> None:
    async with telegram_callbacks(sqlite_url, bot={"enabled": True, "knowledge_base": FAQ}) as (fake, h, _):
        fake.push(text_update(SOMCHAI, 30, "Please call me back tomorrow"))
        await fake.wait_for(lambda: offers(fake, SOMCHAI))
        [row] = await wait_stored(h, 1)
        agent = await h.agent("a@example.com")
        _, t = await h.api("GET", f"/api/tickets/{row.ticket_id}", agent)
        assert t["kind"] == "callback" and await booked(h) == []
