"""Every inbound kind, from recorded Update JSON, through long polling into tickets of a real hub."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from channels.telegram.texts import GREETING, HELP
from hub.i18n import tr
from hub.store.schema import checkpoints, customers, identities
from tests.fake_telegram import FakeTelegram, load, stored, telegram_hub, wait_stored

SOMCHAI, ANNA, NASRIN, GROUP = 7012345678, 5550001111, 6120987654, -1001987654321


async def _ticket(h: Any, headers: dict[str, str], tid: int) -> dict[str, Any]:
    status, body = await h.api("GET", f"/api/tickets/{tid}", headers)
    assert status == 200, body
    return body


async def test_every_inbound_kind_reaches_the_right_ticket(db_url: str) -> None:
    async with FakeTelegram() as fake, telegram_hub(db_url, fake) as h:
        names = ["text_th", "photo_caption", "voice", "location", "contact", "document", "video", "sticker",
                 "contact_other", "human", "callback_query", "text_fa", "start_th", "start_fa", "help_en",
                 "group_mention", "group_unaddressed", "group_other_command", "poll_old_api"]
        for name in names:
            fake.push(load(name))
        for data in [*load("edited"), *load("unknown_kinds")]:
            fake.push(data)
        last = max(fake.enqueued_at)
        rows = await wait_stored(h, 14)
        # The offset moves past everything, including what was answered, ignored or unreadable.
        async def offset() -> str | None:
            async with h.hub.db.read() as conn:
                return (await conn.execute(select(checkpoints.c.value).where(checkpoints.c.key == f"telegram:offset:{fake.bot_id}"))).scalar()
        await fake.wait_for(lambda: not fake.pending)
        for _ in range(100):
            if await offset() == str(last + 1):
                break
            await fake.wait_for(lambda: True)
        assert await offset() == str(last + 1)
        await h.settle()
        assert len(await stored(h)) == 14, [r.text for r in rows]

        headers = await h.agent("agent@example.com")
        by_ticket: dict[int, list[Any]] = {}
        for r in await stored(h):
            by_ticket.setdefault(r.ticket_id, []).append(r)
        # Each chat is one ticket; name the tickets by the chat of their first message.
        by_chat = {rows_[0].provider_id.split(":")[0]: rows_ for rows_ in by_ticket.values()}
        assert len(by_chat) == 4
        som = by_chat[str(SOMCHAI)]
        assert len(som) == 6
        texts = [r.text for r in som]
        assert texts[0] == load("text_th")["message"]["text"]
        assert "[voice message]" in texts and any(t.startswith("[location]") for t in texts)
        assert texts[-1] == load("edited")[1]["edited_message"]["text"]  # edit applied in place, not a new message
        edited = som[-1]
        assert edited.edited_at is not None and edited.edits and edited.edits[0]["text"].endswith("เชียงใหม")

        t = await _ticket(h, headers, som[0].ticket_id)
        photo = next(m for m in t["messages"] if m["text"] == "กล่องพัสดุเสียหายตอนได้รับ")
        assert photo["attachments"][0]["name"] == "photo_AQADph3.jpg"
        status, cust = await h.api("GET", f"/api/customers/{t['customer_id']}", headers)
        assert cust["name"] == "Somchai Jaidee" and cust["language"] == "th"
        assert {"channel": "phone", "external_id": "+66812345678"} in [
            {"channel": i["channel"], "external_id": i["external_id"]} for i in cust["identities"]]

        anna = by_chat[str(ANNA)]
        assert [r.text for r in anna] == [
            "[document: invoice-2026-0113.pdf]", "The lid does not close, see video", "[sticker 👍]",
            "[contact] Reception +442079460958", "/human", "Yes, thanks"]
        assert anna[4].raw["command"] == "human"
        assert anna[5].raw["payload"] == "helpful:yes" and anna[5].meta["flags"] == ["button"]
        assert fake.called("answerCallbackQuery")[0]["callback_query_id"] == "4382910355734519001"
        status, cust = await h.api("GET", f"/api/customers/{(await _ticket(h, headers, anna[0].ticket_id))['customer_id']}", headers)
        assert cust["language"] == "en" and all(i["channel"] != "phone" for i in cust["identities"])

        assert by_chat[str(NASRIN)][0].text == load("text_fa")["message"]["text"]
        [group] = by_chat[str(GROUP)]
        assert group.text == "[Tom Baker] when does the March price list come out?"

        # /start and /help are answered directly, in the user's language, without a ticket.
        greetings = {m["chat_id"]: m["text"] for m in fake.sent}
        assert greetings == {7099990001: tr("th", GREETING), 6199990002: tr("fa", GREETING), 5599990003: HELP}
        assert greetings[7099990001].startswith("สวัสดี") and greetings[6199990002].startswith("سلام!")
        async with h.hub.db.read() as conn:
            ids = set((await conn.execute(select(identities.c.external_id).where(identities.c.channel == "telegram"))).scalars())
        assert ids == {str(SOMCHAI), str(ANNA), str(NASRIN), str(GROUP)}


async def test_reply_to_an_agent_message_threads_and_group_replies(sqlite_url: str) -> None:
    async with FakeTelegram() as fake, telegram_hub(sqlite_url, fake) as h:
        fake.push(load("text_th"))
        fake.push(load("group_mention"))
        rows = await wait_stored(h, 2)
        headers = await h.agent()
        private = next(r for r in rows if r.provider_id.startswith(str(SOMCHAI)))
        group = next(r for r in rows if r.provider_id.startswith(str(GROUP)))
        for r, text in ((private, "ส่งแล้วครับ"), (group, "Next Monday.")):
            assert (await h.api("POST", f"/api/tickets/{r.ticket_id}/reply", headers, json={"text": text}))[0] == 201
        await fake.wait_for(lambda: len(fake.sent) == 2)
        sent = {m["chat_id"]: m["message_id"] for m in fake.sent}
        assert set(sent) == {SOMCHAI, GROUP}  # the group's answer goes to the group

        reply = load("reply")
        reply["message"]["reply_to_message"]["message_id"] = sent[SOMCHAI]
        fake.push(reply)
        greply = load("group_reply")
        greply["message"]["reply_to_message"]["message_id"] = sent[GROUP]
        fake.push(greply)
        fake.push(load("group_unaddressed"))
        rows = await wait_stored(h, 4)
        await h.settle()
        by_id = {r.provider_id: r for r in await stored(h)}
        assert by_id[f"{SOMCHAI}:17"].meta["refs"] == [f"{SOMCHAI}:{sent[SOMCHAI]}"]
        assert by_id[f"{SOMCHAI}:17"].ticket_id == private.ticket_id
        assert by_id[f"{GROUP}:4405"].ticket_id == group.ticket_id
        assert f"{GROUP}:4402" not in by_id
        # The agent replies were stored with the Telegram ids the fake gave them.
        t = await _ticket(h, headers, private.ticket_id)
        assert t["messages"][1]["delivery"] == "sent"
