"""Outbox delivery: retry with backoff, RetryAfter, permanent failure shown to the agent, unreachable marking."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from channels.base import Capabilities, ChannelContext, PermanentError, RetryAfter, SendError, Unreachable
from channels.webchat import build as build_webchat
from hub.domain import Outbound, SendResult
from tests.hubtest import hub_config, running_hub


class ScriptedChannel:
    """Wraps the real web chat channel but fails the first sends as scripted (a provider having a bad day)."""

    def __init__(self, script: Sequence[Exception | None]) -> None:
        self.inner = build_webchat({"enabled": True})
        self.name, self.capabilities = "webchat", Capabilities(typing=True)
        self.script = list(script)
        self.sent: list[Outbound] = []

    async def start(self, ctx: ChannelContext) -> None:
        await self.inner.start(ctx)

    async def stop(self) -> None:
        await self.inner.stop()

    def routes(self) -> Any:
        return self.inner.routes()

    async def send(self, out: Outbound) -> SendResult:
        step = self.script.pop(0) if self.script else None
        if step is not None:
            raise step
        self.sent.append(out)
        return await self.inner.send(out)




async def test_transient_failures_are_retried_then_sent(sqlite_url: str) -> None:
    ch = ScriptedChannel([SendError("timeout"), RetryAfter(0.05)])
    async with running_hub(hub_config(sqlite_url), channels={"webchat": ch}) as h:
        chat = await h.chat()
        tid = (await chat.say("hi"))["ticket_id"]
        a = await h.agent("a@example.com")
        _, msg = await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "answer"})
        assert (await chat.expect("message", timeout=10))["text"] == "answer"
        assert len(ch.sent) == 1
        await h.settle()
        _, t = await h.api("GET", f"/api/tickets/{tid}", a)
        assert t["messages"][-1]["delivery"] == "sent"


async def test_permanent_failure_is_recorded_not_dropped(sqlite_url: str) -> None:
    ch = ScriptedChannel([PermanentError("rejected by provider: bad recipient")])
    async with running_hub(hub_config(sqlite_url), channels={"webchat": ch}) as h:
        chat = await h.chat()
        tid = (await chat.say("hi"))["ticket_id"]
        a = await h.agent("a@example.com")
        ws = await h.session.ws_connect(f"{h.url}/ws/agent?token={h.tokens['a@example.com']}")
        await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "answer"})
        while (ev := await ws.receive_json(timeout=5))["type"] != "message.updated":
            pass
        assert ev["message"]["delivery"] == "failed" and "bad recipient" in ev["message"]["delivery_error"]
        _, t = await h.api("GET", f"/api/tickets/{tid}", a)
        assert t["messages"][-1]["delivery"] == "failed"
        await ws.close()


async def test_retries_exhausted_marks_failed(sqlite_url: str) -> None:
    ch = ScriptedChannel([SendError("down")] * 10)
    async with running_hub(hub_config(sqlite_url, outbox={"max_attempts": 3, "backoff_base": 0.01, "sweep_interval": 0.02}), channels={"webchat": ch}) as h:
        chat = await h.chat()
        tid = (await chat.say("hi"))["ticket_id"]
        a = await h.agent("a@example.com")
        await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "answer"})
        for _ in range(200):
            _, t = await h.api("GET", f"/api/tickets/{tid}", a)
            if t["messages"][-1]["delivery"] == "failed":
                break
            await asyncio.sleep(0.02)
        assert t["messages"][-1]["delivery"] == "failed" and t["messages"][-1]["delivery_error"] == "down"
        assert ch.sent == []


async def test_unreachable_marks_identity(sqlite_url: str) -> None:
    ch = ScriptedChannel([Unreachable("user blocked the bot")])
    async with running_hub(hub_config(sqlite_url), channels={"webchat": ch}) as h:
        chat = await h.chat()
        tid = (await chat.say("hi"))["ticket_id"]
        a = await h.agent("a@example.com")
        await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "answer"})
        await h.settle()
        _, t = await h.api("GET", f"/api/tickets/{tid}", a)
        assert t["recipient_unreachable"] == "user blocked the bot"
        assert any(e["what"] == "unreachable" for e in t["trace"])
