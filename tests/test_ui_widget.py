"""The chat widget on its own: embedding on another site, keyboard use, reconnects, bot buttons, call-me-back."""
from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.domain import Author, Button, Status
from tests.browser import browser, console_login, hub_for, open_page, say  # noqa: F401  (browser is a fixture)
from tests.hubtest import hub_config


async def test_embedded_on_another_origin_with_keyboard_only(browser: Any, sqlite_url: str) -> None:
    site = web.Application()
    where: dict[str, str] = {}

    async def page(request: web.Request) -> web.Response:
        hub_url = where["hub"]
        return web.Response(
            text=f'<!doctype html><html><head><title>Shop</title><link rel="icon" href="data:,"></head><body><h1>Shop</h1>'
            f'<script src="{hub_url}/widget.js" data-lang="th" defer></script></body></html>',
            content_type="text/html",
        )

    site.router.add_get("/", page)
    shop = TestServer(site, host="127.0.0.1", port=0)
    await shop.start_server()
    # A different origin (another port on another host name) that the hub allows.
    shop_origin = f"http://localhost:{shop.port}"
    try:
        async with hub_for(browser, hub_config(sqlite_url, server={"allowed_origins": [shop_origin]})) as h:
            where["hub"] = h.url
            tab = await open_page(browser, shop_origin + "/")
            p = tab.page
            launcher = p.locator("button.launcher")
            await launcher.wait_for()
            assert await launcher.get_attribute("aria-label") == "เปิดแชท"  # data-lang="th"
            await p.keyboard.press("Tab")
            assert await p.evaluate("document.activeElement.shadowRoot.activeElement.className") == "launcher"
            await p.keyboard.press("Enter")
            await p.locator(".status.online").wait_for()
            assert await launcher.get_attribute("aria-expanded") == "true"
            assert await p.evaluate("document.activeElement.shadowRoot.activeElement.id") == "hubchat-input"
            await p.keyboard.type("สวัสดีครับ ต้องการสอบถามเรื่องพัสดุ")
            await p.keyboard.press("Enter")
            await p.locator(".msg.from-customer .state.delivered").wait_for()
            assert await p.locator("[role=log][aria-live=polite]").count() == 1
            await p.keyboard.press("Escape")
            assert await p.locator("#hubchat-panel").is_hidden()
            assert await p.evaluate("document.activeElement.shadowRoot.activeElement.className") == "launcher"

            headers = await h.agent("a@example.com")
            _, page_ = await h.api("GET", "/api/tickets", headers)
            tid = page_["items"][0]["id"]
            await h.api("POST", f"/api/tickets/{tid}/claim", headers)
            await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "สวัสดีครับ ยินดีช่วยเหลือ"})
            badge = p.locator(".launcher .badge")
            await badge.wait_for()  # a reply while the panel is closed shows an unread count
            assert await badge.text_content() == "1"
            await tab.shot("widget-embedded-thai")
            assert not tab.errors, tab.errors
    finally:
        await shop.close()


async def test_offline_state_and_reconnect_resends_unacked(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        tab = await open_page(browser, h.url + "/chat")
        p = tab.page
        await say(tab, "first message")
        token = await p.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]")
        # Drop every chat socket from the server side (what a restart or a network cut looks like to the page).
        await h.hub.channels["webchat"].stop()
        await p.locator(".status.offline").wait_for()
        await p.fill("#hubchat-input", "written while offline")
        await p.press("#hubchat-input", "Enter")
        await p.locator(".status.online").wait_for()
        await p.locator(".msg.from-customer .state.delivered").nth(1).wait_for()
        assert await p.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]") == token
        headers = await h.agent("a@example.com")
        _, page_ = await h.api("GET", "/api/tickets", headers)
        assert len(page_["items"]) == 1
        _, ticket = await h.api("GET", f"/api/tickets/{page_['items'][0]['id']}", headers)
        assert [m["text"] for m in ticket["messages"]] == ["first message", "written while offline"]
        # A reload shows each message once (history and the local copies are deduplicated).
        await p.reload()
        await p.locator(".status.online").wait_for()
        assert await p.locator(".msg.from-customer").count() == 2


async def test_bot_buttons_render_and_send_their_payload(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        tab = await open_page(browser, h.url + "/chat")
        p = tab.page
        await say(tab, "hello")
        headers = await h.agent("a@example.com")
        _, page_ = await h.api("GET", "/api/tickets", headers)
        tid = page_["items"][0]["id"]
        buttons = (Button("Track my order", "track"), Button("<b>Refund</b>", "refund"))
        sent = await h.hub.actions.post_automatic(tid, Author.BOT, "What do you need?", only_if=tuple(Status), buttons=buttons)
        assert sent is not None
        choice = p.locator("button.choice", has_text="Track my order")
        await choice.wait_for()
        assert await p.locator("button.choice").nth(1).text_content() == "<b>Refund</b>"
        await choice.click()
        await p.locator(".msg.from-customer .text", has_text="Track my order").wait_for()
        await p.locator(".msg.from-customer .state.delivered").nth(1).wait_for()
        assert await choice.is_disabled()
        _, ticket = await h.api("GET", f"/api/tickets/{tid}", headers)
        assert ticket["messages"][-1]["text"] == "Track my order"


async def test_call_me_back_books_a_slot_seen_in_the_console(browser: Any, sqlite_url: str) -> None:
    if importlib.util.find_spec("channels.callback") is None:
        pytest.skip("the callbacks API (GET /api/callbacks/slots, POST /api/callbacks) is not in this tree yet")
    config = hub_config(
        sqlite_url,
        channels={"webchat": {"enabled": True}, "callback": {"enabled": True}},
        departments=[{"name": "support", "default": True}, {"name": "callbacks"}],
    )
    async with hub_for(browser, config) as h:
        await h.add_agent("cal@example.com", name="Cal", departments=["callbacks"])
        tab = await open_page(browser, h.url + "/chat", timezone_id="Asia/Bangkok")
        p = tab.page
        await say(tab, "Please call me about my invoice")
        await p.click("button.callback")
        await p.locator("#hubchat-cbname").fill("Somchai")
        await p.locator("#hubchat-phone").fill("+66 81 234 5678")
        # A weekday a few days ahead, inside business hours whatever today is.
        day = datetime.now(ZoneInfo("Asia/Bangkok")).date() + timedelta(days=3)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        await p.locator("#hubchat-date").fill(day.isoformat())
        options = p.locator("#hubchat-slot option:not([disabled]):not([value=''])")  # not the "Loading…" line
        await options.first.wait_for(state="attached")
        label = (await options.first.text_content()) or ""
        assert label.startswith("09:00")  # shown in the visitor's zone (Bangkok, same as business hours)
        await tab.shot("widget-callback-form")
        await p.click(".callback-form button[type=submit]")
        # One confirmation, the hub's own in the chat, with the phone masked as everywhere and the manage link.
        confirm = p.locator(".msg.from-system .text", has_text="+66******678")
        await confirm.wait_for()
        assert "/callback/" in (await confirm.text_content() or "")
        manage = confirm.locator("a")  # clickable, absolute
        assert (await manage.get_attribute("href") or "").startswith(h.url + "/callback/")
        await h.settle()
        assert await p.locator(".msg.from-system .text", has_text="+66******678").count() == 1
        assert await p.locator(".msg .text", has_text="234 5678").count() == 0
        assert await p.locator(".callback-form").is_hidden()

        agent = await console_login(browser, h, "cal@example.com")
        a = agent.page
        await a.click("a.tab[href='#/callbacks']")
        row = a.locator("#cb-upcoming .callback, #cb-due .callback").first
        await row.wait_for()
        assert await row.locator(".phone").text_content() == "+66812345678"
        await a.locator("#cb-upcoming button[data-action=claim], #cb-due button[data-action=claim]").first.click()
        await a.locator(".callback .chip.assignee").first.wait_for()
        await agent.shot("console-callbacks")
        assert not tab.errors and not agent.errors, tab.errors + agent.errors
