"""Conversations end cleanly: resolving tells the customer (the configured closing message, in their language),
resolved tickets close after tickets.auto_close_after, and conversations only the bot answered resolve by
themselves once the customer said it helped or went quiet, which takes them out of the open queue."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hub.clock import FrozenClock
from hub.config import CLOSING_MESSAGE
from tests.hubtest import hub_config, running_hub
from tests.test_bot_flow import QUESTIONS, bot_config, ticket

# Now: the chat stamps a message with the time it arrived, and the idle rule compares the clock with it.
START = datetime.now(timezone.utc)


async def test_resolving_says_goodbye_and_the_ticket_closes_later(sqlite_url: str) -> None:
    clock = FrozenClock(START)
    cfg = hub_config(sqlite_url, tickets={"auto_close_after": "2d", "closing_message": CLOSING_MESSAGE})
    async with running_hub(cfg, clock=clock) as h:
        chat = await h.chat(lang="th")
        ack = await chat.say("พัสดุหมายเลข 4521 ยังไม่มาส่งเลยค่ะ")
        headers = await h.agent("a@example.com")
        tid = ack["ticket_id"]
        await h.api("POST", f"/api/tickets/{tid}/claim", headers)
        status, _ = await h.api("POST", f"/api/tickets/{tid}/resolve", headers)
        assert status == 200
        bye = await chat.expect("message", author="system")
        assert bye["text"] == h.config.tickets.closing_message["th"] and "ขอบคุณที่ติดต่อเรา" in bye["text"]
        await h.settle()
        clock.advance(days=1)
        assert (await h.hub.housekeeping.run())["closed"] == 0
        clock.advance(days=1, minutes=1)
        assert (await h.hub.housekeeping.run())["closed"] == 1
        await h.agent("sup@example.com", role="supervisor")
        t = await ticket(h, tid)
        assert t["status"] == "closed" and any("closed automatically 2 d after" in e["why"] for e in t["trace"])


async def test_no_closing_message_when_none_is_configured(sqlite_url: str) -> None:
    cfg = hub_config(sqlite_url, tickets={"closing_message": {}})
    async with running_hub(cfg) as h:
        chat = await h.chat(lang="en")
        ack = await chat.say("Where is my order?")
        headers = await h.agent("a@example.com")
        await h.api("POST", f"/api/tickets/{ack['ticket_id']}/claim", headers)
        await h.api("POST", f"/api/tickets/{ack['ticket_id']}/resolve", headers)
        await h.settle()
        t = await ticket(h, ack["ticket_id"])
        assert [m["author"] for m in t["messages"]] == ["customer"]


async def test_bot_only_conversations_resolve_when_helped_or_quiet(sqlite_url: str) -> None:
    clock = FrozenClock(START)
    cfg = bot_config(sqlite_url)
    cfg = cfg.model_copy(update={"tickets": cfg.tickets.model_copy(update={"bot_idle_resolve_after": timedelta(hours=24)})})
    async with running_hub(cfg, clock=clock) as h:
        text, entry = QUESTIONS["en"]
        helped = await h.chat(lang="en")
        a = await helped.say(text)
        await helped.expect("message", author="bot")
        await helped.say("Yes", payload=f"helpful:yes:{entry}")
        await helped.expect("message", author="bot")
        quiet = await h.chat(lang="fa")
        text_fa, _ = QUESTIONS["fa"]
        b = await quiet.say(text_fa)
        await quiet.expect("message", author="bot")
        await h.settle()
        assert await h.hub.housekeeping.run() == {"closed": 0, "resolved": 0}  # nothing at once
        clock.advance(minutes=11)
        done = await h.hub.housekeeping.run()
        assert done["resolved"] == 1
        assert (await ticket(h, a["ticket_id"]))["status"] == "resolved"
        assert (await ticket(h, b["ticket_id"]))["status"] == "bot"
        clock.advance(hours=24)
        assert (await h.hub.housekeeping.run())["resolved"] == 1
        await h.login("sup@example.com")  # a day later: a fresh session
        t = await ticket(h, b["ticket_id"])
        assert t["status"] == "resolved" and any("said nothing for 24 h" in e["why"] for e in t["trace"])
        # Nothing was said to either customer by the automatic resolution.
        assert [m["author"] for m in t["messages"]] == ["customer", "bot"]
        headers = {"Authorization": f"Bearer {h.tokens['sup@example.com']}"}
        _, open_ = await h.api("GET", "/api/tickets?status=bot,queued,assigned,pending", headers)
        assert open_["items"] == []
