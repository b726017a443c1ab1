"""Webhook mode: registration at start, the secret token, end to end, redelivery, bad bodies; start-up checks."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from channels.base import ChannelContext
from channels.telegram import build
from hub.config import ConfigError
from hub.domain import Accepted, Identity, Inbound
from tests.fake_telegram import FakeTelegram, load, stored, telegram_hub, text_update, wait_stored
from tests.hubtest import RunningHub

PUBLIC = "https://support.example.com"
SECRET = "s3cret-Token_for-tests"
HOOK = f"{PUBLIC}/telegram/webhook"


@asynccontextmanager
async def webhook_hub(db_url: str, fake: FakeTelegram, **channel: Any) -> AsyncIterator[RunningHub]:
    """A webhook-mode hub, returned once Telegram (the fake) knows where to post."""
    async with telegram_hub(db_url, fake, hub={"server": {"public_url": PUBLIC}}, mode="webhook", webhook_secret=SECRET, **channel) as h:
        await fake.wait_for(lambda: fake.webhook["url"] == HOOK)
        yield h


async def test_webhook_end_to_end(db_url: str) -> None:
    async with FakeTelegram() as fake, webhook_hub(db_url, fake) as h:
        await fake.wait_for(lambda: fake.webhook["url"] == HOOK)
        assert fake.webhook["secret_token"] == SECRET
        assert fake.webhook["allowed_updates"] == ["message", "edited_message", "callback_query"]
        assert [m for m, _ in fake.calls[:3]] == ["getMe", "getWebhookInfo", "setWebhook"]
        fake.forward_to = h.url  # the public host is a proxy in front of this hub
        fake.push(load("text_fa"))
        [row] = await wait_stored(h, 1)
        assert row.text == load("text_fa")["message"]["text"]
        # The row is committed before the hub answers Telegram, so the 200 may still be on its way here.
        await fake.wait_for(lambda: fake.webhook_posts)
        assert [status for _, status in fake.webhook_posts] == [200]
        headers = await h.agent()
        status, msg = await h.api("POST", f"/api/tickets/{row.ticket_id}/reply", headers, json={"text": "سلام، بررسی می‌کنیم."})
        assert status == 201
        await fake.wait_for(lambda: fake.sent)
        assert fake.sent[0]["chat_id"] == 6120987654 and fake.sent[0]["text"] == "سلام، بررسی می‌کنیم."
        assert not fake.called("getUpdates")


async def test_registration_is_kept_when_it_already_points_here(sqlite_url: str) -> None:
    async with FakeTelegram() as fake:
        fake.webhook = {"url": HOOK, "secret_token": SECRET}
        async with webhook_hub(sqlite_url, fake) as h:
            await fake.wait_for(lambda: fake.called("getWebhookInfo"))
            await h.hub.channels["telegram"].ensure_webhook()  # type: ignore[attr-defined]
            assert not fake.called("setWebhook")
        fake.webhook = {"url": "https://old-host.example.net/hook"}
        fake.calls.clear()
        async with webhook_hub(sqlite_url, fake):
            assert fake.called("setWebhook")


async def test_wrong_or_missing_secret_is_refused(sqlite_url: str) -> None:
    async with FakeTelegram() as fake, webhook_hub(sqlite_url, fake) as h:
        update = {"update_id": 1, **text_update(777, 1, "hello")}
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
            async with h.session.post(f"{h.url}/telegram/webhook", json=update, headers=headers) as r:
                assert r.status == 403
        assert await stored(h) == []
        async with h.session.post(f"{h.url}/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
            assert r.status == 200
        assert len(await stored(h)) == 1


async def test_redelivered_update_is_stored_once_even_after_a_restart(sqlite_url: str) -> None:
    update = {"update_id": 55, **text_update(777, 9, "where is my parcel?")}
    async with FakeTelegram() as fake:
        async with webhook_hub(sqlite_url, fake) as h:
            fake.forward_to = h.url
            assert await fake.post_webhook(update) == 200
            assert await fake.post_webhook(update) == 200
            assert len(await stored(h)) == 1
        async with webhook_hub(sqlite_url, fake) as h:
            fake.forward_to = h.url
            assert await fake.post_webhook(update) == 200
            renumbered = {**update, "update_id": 56}  # same message under another update id
            assert await fake.post_webhook(renumbered) == 200
            rows = await stored(h)
            assert [r.provider_id for r in rows] == ["777:9"]


async def test_bad_bodies_and_unknown_kinds(sqlite_url: str) -> None:
    async with FakeTelegram() as fake, webhook_hub(sqlite_url, fake) as h:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with h.session.post(f"{h.url}/telegram/webhook", data=b"{nope", headers={**headers, "Content-Type": "application/json"}) as r:
            assert r.status == 400
        for body in ([1, 2], {"message": {}}, {"update_id": "7"}):
            async with h.session.post(f"{h.url}/telegram/webhook", json=body, headers=headers) as r:
                assert r.status == 400, body
        fake.forward_to = h.url
        for data in [*load("unknown_kinds"), load("poll_old_api"), load("group_unaddressed")]:
            assert await fake.post_webhook(data) == 200
        assert await stored(h) == []
        assert await fake.post_webhook(load("start_fa")) == 200
        assert fake.sent and fake.sent[0]["chat_id"] == 6199990002
        assert await fake.post_webhook(load("start_fa")) == 200  # redelivered: not greeted twice
        assert len(fake.sent) == 1


async def test_polling_mode_removes_a_leftover_webhook(sqlite_url: str) -> None:
    async with FakeTelegram() as fake:
        fake.webhook = {"url": "https://old-host.example.net/hook"}
        async with telegram_hub(sqlite_url, fake) as h:
            fake.push(load("text_th"))
            await wait_stored(h, 1)
            assert fake.called("deleteWebhook") and fake.webhook["url"] == ""


def _ctx(public_url: str | None) -> ChannelContext:
    async def deliver(inbound: Inbound) -> Accepted:
        raise AssertionError("not expected")

    class Nothing:
        async def get(self, key: str) -> str | None:
            return None

        async def set(self, key: str, value: str) -> None:
            pass

        async def run(self, name: str, fn: Any) -> None:
            await fn()

    async def unreachable(ident: Identity, reason: str) -> None:
        pass

    return ChannelContext(deliver=deliver, checkpoints=Nothing(), singleton=Nothing(), mark_unreachable=unreachable, public_url=public_url)


async def test_webhook_mode_needs_a_public_url_and_a_rejected_token_fails_start() -> None:
    async with FakeTelegram() as fake:
        ch = build(fake.channel_config(mode="webhook", webhook_secret=SECRET))
        with pytest.raises(ConfigError, match=r"server\.public_url"):
            await ch.start(_ctx(None))
        await ch.stop()
        ch = build(fake.channel_config(token="999:not-the-token"))
        with pytest.raises(ConfigError, match=r"channels\.telegram\.token: rejected"):
            await ch.start(_ctx(None))
        await ch.stop()


async def test_an_unreachable_bot_api_does_not_stop_the_hub(sqlite_url: str) -> None:
    async with FakeTelegram() as fake:
        port = fake.port
    # The fake is gone: getMe fails, the hub still starts and keeps trying in the background.
    cfg = {"base_url": f"http://127.0.0.1:{port}/bot", "request_timeout": 1}
    async with FakeTelegram() as other, telegram_hub(sqlite_url, other, **cfg) as h:
        status, body = await h.api("GET", "/healthz")
        assert status == 200
        assert not h.hub.channels["telegram"].connected.is_set()  # type: ignore[attr-defined]
