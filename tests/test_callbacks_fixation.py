"""A booking lands only in the booker's own chat: no visitor token from a link or a foreign form, none that no
conversation has used, and never a full phone number in a chat history."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from hub.clock import FrozenClock
from hub.store.schema import identities, messages
from tests.hubtest import RunningHub, running_hub
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config

PHONE = "+66812345678"


async def chat_texts(h: RunningHub) -> list[str]:
    async with h.hub.db.read() as conn:
        rows = await conn.execute(select(messages.c.text).where(messages.c.channel == "webchat").order_by(messages.c.id))
        return [r.text for r in rows]


async def test_a_token_from_a_link_or_a_foreign_form_never_takes_the_booking(sqlite_url: str) -> None:
    async with running_hub(callback_config(sqlite_url), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        attacker = await h.chat()
        await attacker.say("hello")
        # The attacker's link: the page must not carry the token into its form.
        async with h.session.get(f"{h.url}/callback?visitor_token={attacker.token}&date=2027-03-01") as r:
            assert r.status == 200 and attacker.token not in await r.text()
        # A form on another site posting the token along: the page ignores it.
        form = {**booking(phone=PHONE, topic="my bank card"), "visitor_token": attacker.token}
        async with h.session.post(f"{h.url}/callback", data=form) as r:
            assert r.status == 201, await r.text()
        # The same as a plain (CORS-free) form post to the JSON endpoint.
        body = booking(phone=PHONE, slot="2027-03-01T10:30:00+07:00", visitor_token=attacker.token)
        async with h.session.post(f"{h.url}/api/callbacks", data=__import__("json").dumps(body),
                                  headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 201, await r.text()
        await h.settle()
        texts = await chat_texts(h)
        assert texts == ["hello"], texts
        try:
            frame = await attacker.ws.receive_json(timeout=0.5)
        except asyncio.TimeoutError:
            frame = None
        assert frame is None or "/callback/" not in str(frame)


async def test_an_unknown_token_opens_no_chat_and_the_widget_books_into_its_own(sqlite_url: str) -> None:
    async with running_hub(callback_config(sqlite_url), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        made_up = "A" * 43
        status, cb = await h.api("POST", "/api/callbacks", json=booking(phone=PHONE, visitor_token=made_up))
        assert status == 201, cb
        async with h.hub.db.read() as conn:
            webchat = (await conn.execute(select(identities.c.id).where(identities.c.channel == "webchat"))).all()
        assert webchat == []
        forged = await h.chat(visitor_token=made_up)
        assert forged.welcome["history"] == [] and forged.token != made_up
        # The widget of a visitor who has written: the confirmation reaches that chat, the number masked.
        chat = await h.chat()
        await chat.say("can you call me?")
        status, cb = await h.api("POST", "/api/callbacks", json=booking(phone=PHONE, slot="2027-03-01T11:00:00+07:00", visitor_token=chat.token))
        assert status == 201, cb
        confirm = await chat.expect("message", author="system")
        assert f"/callback/{cb['id']}?t=" in confirm["text"]
        again = await h.chat(visitor_token=chat.token)
        history = " ".join(m["text"] for m in again.welcome["history"])
        assert "Callback request" in history and PHONE not in history and "12345678" not in history
        assert PHONE not in " ".join(await chat_texts(h))
