"""A message the server would refuse never locks the widget: it is measured in bytes as the server measures it,
refused before sending with a word why, and a refused message never holds up the ones after it."""
from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.browser import PHONE, browser, hub_for, open_page  # noqa: F401  (browser is a fixture)
from tests.hubtest import hub_config

THAI = "ขอสอบถามเรื่องการคืนสินค้า"  # 26 characters, 78 bytes in UTF-8
LONG_THAI = (THAI * 254)[:6600]  # under the 10,000-character limit, about 19.8 KB: over the 16 KB frame limit


async def test_a_long_thai_message_is_refused_before_sending_and_nothing_locks(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        tab = await open_page(browser, h.url + "/chat", locale="th-TH", viewport=PHONE)
        p = tab.page
        await p.locator(".status.online").wait_for()
        await p.fill("#hubchat-input", LONG_THAI)
        hint = p.locator("#hubchat-length")
        await hint.wait_for()
        assert "ยาวเกินกว่าจะส่งได้" in await hint.text_content()
        assert await p.locator("button.send").is_disabled()
        await p.press("#hubchat-input", "Enter")
        assert await p.locator(".msg.from-customer").count() == 0  # nothing was sent or queued
        await p.fill("#hubchat-input", THAI)
        await hint.wait_for(state="hidden")
        await p.press("#hubchat-input", "Enter")
        await p.locator(".msg.from-customer .state.delivered").wait_for()
        assert await p.locator(".status.online").count() == 1
        assert tab.unexpected() == []


async def test_a_frame_the_server_closes_on_is_dropped_and_later_messages_go_through(browser: Any, sqlite_url: str) -> None:
    """A widget that believes the limit is larger (an older server config, a proxy) gets the socket closed with 1009:
    the message is marked not sent for good, never resent, and the next one is delivered after the reconnect."""
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        context = await browser.new_context(locale="fa-IR", viewport=PHONE)
        page = await context.new_page()
        closes: list[int | None] = []
        tasks: list[asyncio.Future[Any]] = []

        async def relay(ws: Any) -> None:
            server = ws.connect_to_server()

            def from_server(message: Any) -> None:
                frame = json.loads(message)
                if frame.get("type") == "welcome":
                    frame["limits"] = {"max_frame": 1_000_000, "max_text": 10_000}  # a lie: the server keeps 16 KB
                ws.send(json.dumps(frame))

            server.on_message(from_server)
            def closed(code: int | None, reason: str) -> None:
                closes.append(code)
                tasks.append(asyncio.ensure_future(ws.close(code=code, reason=reason)))

            server.on_close(closed)

        await page.route_web_socket("**/ws/chat", relay)
        await page.goto(h.url + "/chat")
        await page.locator(".status.online").wait_for()
        await page.fill("#hubchat-input", LONG_THAI)
        await page.press("#hubchat-input", "Enter")
        failed = page.locator(".msg.from-customer.failed")
        await failed.wait_for()
        assert "طولانی" in await failed.text_content()
        assert 1009 in closes
        await page.locator(".status.online").wait_for()
        await page.fill("#hubchat-input", "سلام، سفارش من کجاست؟")
        await page.press("#hubchat-input", "Enter")
        await page.locator(".msg.from-customer .state.delivered").wait_for()
        # The refused text is back in the box to be split, not resent.
        await failed.locator("button.retry").click()
        assert (await page.input_value("#hubchat-input")) == LONG_THAI
        headers = await h.agent("a@example.com")
        _, tickets = await h.api("GET", "/api/tickets", headers)
        _, t = await h.api("GET", f"/api/tickets/{tickets['items'][0]['id']}", headers)
        assert [m["text"] for m in t["messages"] if m["author"] == "customer"] == ["سلام، سفارش من کجاست؟"]
