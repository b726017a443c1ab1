"""The FAQ bot in the running hub, end to end over the chat WebSocket (and Telegram): answers, "did this help?",
handoff on request, complaint, misses and key customers, the agent's view, no bot message after a handoff under
concurrent messages, queue status notices and knowledge base reloads."""
from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.clock import FrozenClock
from hub.store.schema import customers, messages
from tests.hubtest import ChatClient, RunningHub, hub_config, running_hub

FAQ = str(Path(__file__).resolve().parents[1] / "faq.yaml")

QUESTIONS = {
    "en": ("How many days until my parcel gets delivered?", "delivery_time"),
    "th": ("ส่งของกี่วันถึงคะ", "delivery_time"),
    "fa": ("سفارش من چند روز طول میکشه تا برسه؟", "delivery_time"),
}
HUMAN = {"en": "can I talk to a real person please", "th": "ขอคุยกับพนักงานหน่อยค่ะ", "fa": "میخوام با اپراتور صحبت کنم"}
HANDOFF_TEXT = {
    "en": "I'm passing you to a member of our team",
    "th": "กำลังส่งต่อให้เจ้าหน้าที่",
    "fa": "گفت‌وگو را به یکی از همکارانمان می‌سپارم",
}
# A Wednesday, 10:00 in Bangkok: inside the default business hours.
OPEN_AT = datetime(2026, 3, 4, 3, 0, tzinfo=timezone.utc)


def bot_config(db_url: str, **bot: Any) -> Any:
    return hub_config(db_url, bot={"enabled": True, "knowledge_base": FAQ, **bot})


@asynccontextmanager
async def bot_hub(db_url: str, clock: FrozenClock | None = None, **bot: Any) -> AsyncIterator[RunningHub]:
    async with running_hub(bot_config(db_url, **bot), clock=clock) as h:
        yield h


async def ticket(h: RunningHub, tid: int) -> dict[str, Any]:
    headers = h.tokens.get("sup@example.com")
    if headers is None:
        await h.agent("sup@example.com", role="supervisor")
    status, body = await h.api("GET", f"/api/tickets/{tid}", {"Authorization": f"Bearer {h.tokens['sup@example.com']}"})
    assert status == 200, body
    return body


async def no_frame(chat: ChatClient, kind: str = "message", wait: float = 0.3) -> None:
    with pytest.raises(asyncio.TimeoutError):
        frame = await chat.expect(kind, timeout=wait)
        pytest.fail(f"unexpected frame {frame}")


@pytest.mark.parametrize("lang", ["en", "th", "fa"])
async def test_bot_answers_a_known_question_with_buttons(sqlite_url: str, lang: str) -> None:
    text, entry = QUESTIONS[lang]
    async with bot_hub(sqlite_url) as h:
        chat = await h.chat(lang=lang)
        ack = await chat.say(text)
        frame = await chat.expect("message")
        kb = h.hub.assistant.holder.kb
        assert frame["author"] == "bot" and frame["text"].startswith(kb.get(entry).answer(lang))
        payloads = [b["payload"] for b in frame["buttons"]]
        assert payloads[:2] == [f"helpful:yes:{entry}", f"helpful:no:{entry}"]
        await h.settle()
        t = await ticket(h, ack["ticket_id"])
        assert t["status"] == "bot" and [m["author"] for m in t["messages"]] == ["customer", "bot"]


async def test_not_helpful_button_hands_off_and_agent_sees_why(db_url: str) -> None:
    text, entry = QUESTIONS["en"]
    async with bot_hub(db_url) as h:
        chat = await h.chat(lang="en")
        ack = await chat.say(text)
        await chat.expect("message", author="bot")
        await chat.say("No", payload=f"helpful:no:{entry}")
        notice = await chat.expect("message")
        assert notice["author"] == "system" and HANDOFF_TEXT["en"] in notice["text"]
        await h.settle()
        t = await ticket(h, ack["ticket_id"])
        assert t["status"] == "queued"
        assert [m["author"] for m in t["messages"]] == ["customer", "bot", "customer", "system"]
        handoffs = [e for e in t["trace"] if e["what"] == "handoff"]
        assert len(handoffs) == 1 and f"did not help ({entry})" in handoffs[0]["why"]


async def test_helpful_yes_keeps_the_bot_and_thanks(sqlite_url: str) -> None:
    text, entry = QUESTIONS["th"]
    async with bot_hub(sqlite_url) as h:
        chat = await h.chat(lang="th")
        ack = await chat.say(text)
        await chat.expect("message", author="bot")
        await chat.say("ใช่ ขอบคุณค่ะ", payload=f"helpful:yes:{entry}")
        frame = await chat.expect("message", author="bot")
        assert frame["text"] == "ยินดีค่ะ หากมีคำถามอื่น พิมพ์มาได้เลยนะคะ"
        await h.settle()
        assert (await ticket(h, ack["ticket_id"]))["status"] == "bot"


async def test_typed_no_after_an_answer_hands_off(sqlite_url: str) -> None:
    text, _ = QUESTIONS["fa"]
    async with bot_hub(sqlite_url) as h:
        chat = await h.chat(lang="fa")
        ack = await chat.say(text)
        await chat.expect("message", author="bot")
        await chat.say("نه")
        assert (await chat.expect("message"))["author"] == "system"
        await h.settle()
        assert (await ticket(h, ack["ticket_id"]))["status"] == "queued"


@pytest.mark.parametrize("lang", ["en", "th", "fa"])
async def test_asking_for_a_human_hands_off_in_each_language(db_url: str, lang: str) -> None:
    async with bot_hub(db_url) as h:
        chat = await h.chat(lang=lang)
        ack = await chat.say(HUMAN[lang])
        frame = await chat.expect("message")
        assert frame["author"] == "system" and HANDOFF_TEXT[lang] in frame["text"]
        await h.settle()
        t = await ticket(h, ack["ticket_id"])
        assert t["status"] == "queued"
        assert any(e["what"] == "handoff" and "asked for a human" in e["why"] for e in t["trace"])
        assert [m["author"] for m in t["messages"]] == ["customer", "system"]


async def test_complaint_hands_off_on_first_and_later_messages(sqlite_url: str) -> None:
    async with bot_hub(sqlite_url) as h:
        first = await h.chat(lang="en")
        ack = await first.say("This is unacceptable! My order arrived broken and nobody answers, terrible service!!")
        # What the knowledge base says about damaged orders goes out at once; the complaint still goes to a person.
        answer = await first.expect("message")
        assert answer["author"] == "bot" and answer["text"].startswith("We're sorry your order arrived damaged")
        assert not answer.get("buttons")  # no "did this help?": a person takes it from here
        assert (await first.expect("message"))["author"] == "system"
        await h.settle()
        t = await ticket(h, ack["ticket_id"])
        assert t["status"] == "queued" and t["kind"] == "complaint"
        assert any(e["what"] == "handoff" and e["why"] == "complaint" for e in t["trace"])
        assert [m["author"] for m in t["messages"]] == ["customer", "bot", "system"]

        later = await h.chat(lang="en")
        ack = await later.say(QUESTIONS["en"][0])
        assert (await later.expect("message"))["author"] == "bot"
        await later.say("your staff were rude to me and I am furious, this is the worst service ever!!!")
        assert (await later.expect("message"))["author"] == "system"  # nothing in the knowledge base on it
        await h.settle()
        assert (await ticket(h, ack["ticket_id"]))["status"] == "queued"


async def test_two_misses_in_a_row_hand_off(sqlite_url: str) -> None:
    async with bot_hub(sqlite_url) as h:
        chat = await h.chat(lang="en")
        ack = await chat.say("what is the airspeed velocity of an unladen swallow")
        frame = await chat.expect("message")
        assert frame["author"] == "bot" and "say it another way" in frame["text"]
        await h.settle()
        assert (await ticket(h, ack["ticket_id"]))["status"] == "bot"
        await chat.say("which football team won the cup in 1998")
        assert (await chat.expect("message"))["author"] == "system"
        await h.settle()
        t = await ticket(h, ack["ticket_id"])
        assert t["status"] == "queued" and any("missed 2 times" in e["why"] for e in t["trace"])


@pytest.mark.parametrize("how", ["tier", "account_manager"])
async def test_key_customer_goes_straight_to_the_queue(db_url: str, how: str) -> None:
    async with bot_hub(db_url) as h:
        chat = await h.chat(lang="en")
        first = await chat.say("hello")
        assert (await chat.expect("message"))["author"] == "bot"
        # The customer becomes a key customer while talking to the bot: the next message goes to a person.
        headers = await h.agent("sup@example.com", role="supervisor")
        cid = await customer_of(h, first["ticket_id"])
        if how == "tier":
            status, body = await h.api("PATCH", f"/api/customers/{cid}", headers, json={"tier": "vip"})
            assert status == 200, body
        else:
            manager = await h.add_agent("am@example.com")
            async with h.hub.db.write() as conn:
                await conn.execute(update(customers).where(customers.c.id == cid).values(account_manager_id=manager))
        await chat.say(QUESTIONS["en"][0])
        frame = await chat.expect("message")
        assert frame["author"] == "system" and HANDOFF_TEXT["en"] in frame["text"]
        await h.settle()
        t = await ticket(h, first["ticket_id"])
        assert t["status"] == "queued"
        why = "vip customer" if how == "tier" else "account manager"
        assert any(e["what"] == "handoff" and why in e["why"] for e in t["trace"])
        assert "bot" not in [m["author"] for m in t["messages"][2:]]


async def customer_of(h: RunningHub, tid: int) -> int:
    return int((await ticket(h, tid))["customer_id"])


async def test_no_bot_message_after_handoff_under_concurrent_messages(db_url: str) -> None:
    async with bot_hub(db_url) as h:
        chat = await h.chat(lang="en")
        ack = await chat.say(QUESTIONS["en"][0])
        await chat.expect("message", author="bot")
        # The handoff trigger and ten more messages, all sent before any reply can come back.
        frames = [{"type": "message", "client_id": "trigger", "text": "I want to talk to a human"}]
        frames += [{"type": "message", "client_id": f"m{i}", "text": QUESTIONS["en"][0]} for i in range(10)]
        await asyncio.gather(*(chat.ws.send_json(f) for f in frames))
        await h.settle()
        await asyncio.sleep(0.2)
        await h.settle()
        t = await ticket(h, ack["ticket_id"])
        assert t["status"] == "queued"
        authors = [m["author"] for m in t["messages"]]
        handoff = authors.index("system")
        assert "bot" not in authors[handoff:], authors
        assert authors.count("customer") == 12 and authors.count("bot") == 1
        async with h.hub.db.read() as conn:
            after = (await conn.execute(select(messages.c.author).where(messages.c.ticket_id == ack["ticket_id"])
                                        .order_by(messages.c.id))).scalars().all()
        assert after.count("bot") == 1


async def test_queue_notice_at_most_once_per_interval(db_url: str) -> None:
    clock = FrozenClock(OPEN_AT)
    async with bot_hub(db_url, clock=clock, notice_interval="5m") as h:
        other = await h.chat(lang="en")  # someone already waiting ahead in the queue
        await other.say(HUMAN["en"])
        await other.expect("message", author="system")
        chat = await h.chat(lang="en")
        ack = await chat.say(HUMAN["en"])
        first = await chat.expect("message", author="system")
        assert HANDOFF_TEXT["en"] in first["text"] and "number 2 in the queue" in first["text"]
        await chat.say("hello? still waiting")
        await h.settle()
        await no_frame(chat)
        clock.advance(minutes=6)
        await chat.say("anyone there?")
        notice = await chat.expect("message", author="system")
        assert "number 2 in the queue" in notice["text"]
        await chat.say("and now?")
        await h.settle()
        await no_frame(chat)
        t = await ticket(h, ack["ticket_id"])
        assert [m["author"] for m in t["messages"]].count("system") == 2


async def test_queue_notice_outside_hours_says_when_and_offers_a_callback(sqlite_url: str) -> None:
    clock = FrozenClock(datetime(2026, 3, 7, 15, 0, tzinfo=timezone.utc))  # Saturday 22:00 in Bangkok
    config = bot_config(sqlite_url)
    config = config.model_copy(update={"channels": {**config.channels, "callback": {"enabled": True, "department": "support"}}})
    async with running_hub(config, clock=clock) as h:
        chat = await h.chat(lang="en")
        await chat.say(HUMAN["en"])
        frame = await chat.expect("message", author="system")
        assert "back on Monday at 09:00" in frame["text"], frame["text"]
        assert "/callback" in frame["text"]


async def test_reopened_ticket_goes_to_the_queue_by_default(sqlite_url: str) -> None:
    async with bot_hub(sqlite_url) as h:
        chat = await h.chat(lang="en")
        ack = await chat.say(QUESTIONS["en"][0])
        await chat.expect("message", author="bot")
        headers = await h.agent("sup@example.com", role="supervisor")
        assert (await h.api("POST", f"/api/tickets/{ack['ticket_id']}/resolve", headers))[0] == 200
        again = await chat.say(QUESTIONS["en"][0])
        assert again["ticket_id"] == ack["ticket_id"]
        await h.settle()
        t = await ticket(h, ack["ticket_id"])
        assert t["status"] == "queued" and [m["author"] for m in t["messages"]].count("bot") == 1


async def test_reopened_ticket_goes_to_the_bot_when_configured(sqlite_url: str) -> None:
    async with bot_hub(sqlite_url, reopen_to_bot=True) as h:
        chat = await h.chat(lang="en")
        ack = await chat.say(QUESTIONS["en"][0])
        await chat.expect("message", author="bot")
        headers = await h.agent("sup@example.com", role="supervisor")
        assert (await h.api("POST", f"/api/tickets/{ack['ticket_id']}/resolve", headers))[0] == 200
        await chat.say(QUESTIONS["en"][0])
        assert (await chat.expect("message"))["author"] == "bot"
        await h.settle()
        assert (await ticket(h, ack["ticket_id"]))["status"] == "bot"


async def test_knowledge_base_reloads_and_a_broken_file_keeps_the_old_one(sqlite_url: str, tmp_path: Path) -> None:
    kb = tmp_path / "faq.yaml"
    shutil.copy(FAQ, kb)
    async with bot_hub(sqlite_url, knowledge_base=str(kb), reload_interval=0.05) as h:
        holder = h.hub.assistant.holder
        assert holder.kb.get("parking") is None
        kb.write_text(kb.read_text(encoding="utf-8") + PARKING, encoding="utf-8")
        await wait_for(lambda: holder.kb.get("parking") is not None)
        chat = await h.chat(lang="en")
        await chat.say("is there a car park where I can leave my car")
        frame = await chat.expect("message", author="bot")
        assert frame["text"].startswith("Free parking for customers")

        kb.write_text(kb.read_text(encoding="utf-8") + "  - id: Broken Entry\n    answer: [\n", encoding="utf-8")
        await wait_for(lambda: holder.last_error is not None)
        assert holder.kb.get("parking") is not None and holder.last_error.line > 0
        again = await h.chat(lang="en")
        await again.say("where can I park my car at the shop")
        assert (await again.expect("message", author="bot"))["text"].startswith("Free parking for customers")


PARKING = """
  - id: parking
    answer:
      en: "Free parking for customers is behind the shop, entrance from Soi 3."
    examples:
      en:
        - "is there parking at the store"
        - "where do I park my car"
        - "car park near the shop?"
"""


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def test_telegram_gets_answers_with_inline_buttons_and_a_press_hands_off(sqlite_url: str) -> None:
    from tests.fake_telegram import FakeTelegram, load, telegram_hub, text_update

    chat_id = 6120987654
    async with FakeTelegram() as fake, telegram_hub(sqlite_url, fake, hub={"bot": {"enabled": True, "knowledge_base": FAQ}}) as h:
        fake.push(text_update(chat_id, 11, QUESTIONS["fa"][0], first="Nasrin", lang="fa"))
        await fake.wait_for(lambda: fake.sent)
        answer = fake.sent[-1]
        entry = h.hub.assistant.holder.kb.get(QUESTIONS["fa"][1])
        assert answer["text"].startswith(entry.answer("fa"))
        keys = [k for row in answer["reply_markup"]["inline_keyboard"] for k in row]
        assert [k["callback_data"] for k in keys][:2] == [f"helpful:yes:{entry.id}", f"helpful:no:{entry.id}"]

        press = load("callback_query")
        press["callback_query"]["from"] = {"id": chat_id, "is_bot": False, "first_name": "Nasrin", "language_code": "fa"}
        press["callback_query"]["message"] = {"message_id": answer["message_id"], "chat": {"id": chat_id, "type": "private"},
                                              "date": 1767225600, "text": answer["text"], "reply_markup": answer["reply_markup"]}
        press["callback_query"]["data"] = f"helpful:no:{entry.id}"
        fake.push(press)
        await fake.wait_for(lambda: len(fake.sent) >= 2)
        assert HANDOFF_TEXT["fa"] in fake.sent[-1]["text"] and "reply_markup" not in fake.sent[-1]
        await h.settle()
        async with h.hub.db.read() as conn:
            tid = (await conn.execute(select(messages.c.ticket_id).where(messages.c.channel == "telegram"))).scalar()
        t = await ticket(h, int(tid))
        assert t["status"] == "queued" and [m["author"] for m in t["messages"]] == ["customer", "bot", "customer", "system"]


class RecordingMail:
    """A mail-like channel that records what the hub sends (the real one is tested against Dovecot/aiosmtpd)."""

    name = "email"

    def __init__(self) -> None:
        from channels.base import Capabilities

        self.capabilities = Capabilities(conversational=False, html=True)
        self.sent: list[Any] = []

    async def start(self, ctx: Any) -> None:
        return None

    async def send(self, out: Any) -> Any:
        from hub.domain import SendResult

        self.sent.append(out)
        return SendResult(provider_id=f"<sent-{out.message_id}@example.com>")

    async def stop(self) -> None:
        return None

    def routes(self) -> list[Any]:
        return []


def mail(n: int, text: str, *, refs: tuple[str, ...] = (), flags: frozenset[str] = frozenset()) -> Any:
    from hub.domain import Identity, Inbound

    return Inbound(channel="email", provider_id=f"<m{n}@example.org>", sender=Identity("email", "ann@example.org"),
                   text=text, received_at=datetime.now(timezone.utc), subject="Question", thread_refs=refs, flags=flags)


async def test_email_gets_one_automatic_acknowledgement_then_agents(sqlite_url: str) -> None:
    box = RecordingMail()
    async with running_hub(bot_config(sqlite_url), channels={"email": box}) as h:
        first = await h.hub.intake.deliver(mail(1, "Hello, how long does delivery take to Chiang Mai?"))
        await h.settle()
        assert len(box.sent) == 1 and box.sent[0].automatic and box.sent[0].author.value == "system"
        assert "automatic reply" in box.sent[0].text
        assert h.hub.assistant.holder.kb.get("delivery_time").answer("en") in box.sent[0].text  # a likely answer
        again = await h.hub.intake.deliver(mail(2, "And what does shipping cost?", refs=("<m1@example.org>",)))
        assert again.ticket_id == first.ticket_id
        await h.hub.intake.deliver(mail(3, "Out of office until Monday", flags=frozenset({"auto_reply"})))
        await h.settle()
        assert len(box.sent) == 1
        t = await ticket(h, first.ticket_id)
        assert t["status"] == "queued" and any("email channel" in e["why"] for e in t["trace"] if e["what"] == "handoff")
