"""The widget and the console together in headless Chromium: a customer chats, an agent answers live."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser import browser, console_login, hub_for, open_page, say  # noqa: F401  (browser is a fixture)
from tests.hubtest import hub_config

FAQ = Path(__file__).resolve().parent.parent / "faq.yaml"
HANDOFF = {"en": "I want to talk to a person", "th": "ขอคุยกับพนักงาน", "fa": "می‌خواهم با اپراتور صحبت کنم"}


async def test_customer_and_agent_work_a_ticket_live(browser: Any, sqlite_url: str) -> None:
    config = hub_config(sqlite_url, bot={"enabled": True, "knowledge_base": str(FAQ)})
    async with hub_for(browser, config) as h:
        await h.add_agent("ana@example.com", name="Ana")
        agent = await console_login(browser, h, "ana@example.com")
        await agent.page.locator(".queue .muted", has_text="No tickets").wait_for()

        customer = await open_page(browser, h.url + "/chat")
        c = customer.page
        await c.locator(".status.online").wait_for()
        await say(customer, "What are your opening hours?")
        # The bot answers from the knowledge base, then the customer asks for a person.
        await c.locator(".msg.from-bot .text", has_text="9:00").first.wait_for()
        await customer.shot("widget-bot-answer")
        await c.click("button.talk")
        await c.locator(".msg.from-customer .text", has_text=HANDOFF["en"]).wait_for()
        await c.locator(".msg.from-customer .state.delivered").nth(1).wait_for()

        # The ticket appears in the agent's queue without a reload.
        a = agent.page
        row = a.locator(".ticket-list li")
        await row.first.wait_for()
        assert await row.count() == 1
        await row.first.locator("a").click()
        await a.locator(".timeline .msg .text", has_text="What are your opening hours?").wait_for()
        # The bot's part and the reason it handed over are on the ticket.
        await a.locator(".timeline .msg.from-bot").first.wait_for()
        await a.locator(".ticket-head .handoff").wait_for()
        await a.click("button[data-action=claim]")
        await a.locator(".ticket-head .chip.status-assigned").wait_for()

        # Typing travels both ways.
        await a.fill("#reply-text", "Let me check")
        await c.locator(".typing:not([hidden])").wait_for()
        await c.type("#hubchat-input", "thanks")
        await a.locator(".typing:not([hidden])").wait_for()
        await c.fill("#hubchat-input", "")

        await a.fill("#reply-text", "Your parcel left the warehouse today.")
        await a.click("button.send-reply")
        await a.locator(".timeline .msg.from-agent .delivery.sent").wait_for()
        await c.locator(".msg.from-agent .text", has_text="Your parcel left the warehouse today.").wait_for()
        await a.fill("#reply-text", "VIP customer, be gentle")
        await a.click(".note-btn")
        await a.locator(".timeline .note .text", has_text="VIP customer").wait_for()
        await customer.shot("widget-conversation")
        await agent.shot("console-ticket")

        # Reload both pages: the conversation and the console state survive.
        await c.reload()
        await c.locator(".msg.from-agent .text", has_text="Your parcel left the warehouse today.").wait_for()
        assert await c.locator(".msg.from-customer").count() == 2
        await a.reload()
        await a.locator(".timeline .msg.from-agent .delivery.sent").wait_for()
        await a.locator(".timeline .note").wait_for()
        assert await a.locator("#login-email").count() == 0
        assert await a.locator(".ticket-list li a[aria-current=true]").count() == 1

        # Resolve and reopen from the console.
        await a.click("button[data-action=resolve]")
        await a.locator(".ticket-head .chip.status-resolved").wait_for()
        await a.click("button[data-action=reopen]")
        await a.locator(".ticket-head .chip.status-assigned").wait_for()  # back to its assignee
        assert not customer.errors and not agent.unexpected("/api/callbacks"), customer.errors + agent.errors


async def test_persian_renders_right_to_left_in_both_pages(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("reza@example.com", name="رضا")
        customer = await open_page(browser, h.url + "/chat", locale="fa-IR", timezone_id="Asia/Tehran")
        c = customer.page
        await c.locator(".status.online").wait_for()
        panel = c.locator("#hubchat-panel")
        assert await panel.get_attribute("dir") == "rtl"  # fa-IR browser: Persian picked without asking
        assert await panel.evaluate("e => getComputedStyle(e).direction") == "rtl"
        text = "سلام، سفارش ۱۲۳۴ من کجاست؟ order #55"
        await say(customer, text)
        bubble = c.locator(".msg.from-customer .text").first
        assert await bubble.text_content() == text  # Persian digits stay as typed
        assert await bubble.evaluate("e => getComputedStyle(e).direction") == "rtl"
        await c.click("button.talk")
        await c.locator(".msg.from-customer .text", has_text=HANDOFF["fa"]).wait_for()
        await customer.shot("widget-persian")

        agent = await console_login(browser, h, "reza@example.com", lang="fa")
        a = agent.page
        assert await a.evaluate("document.documentElement.dir") == "rtl"
        assert await a.locator("body").evaluate("e => getComputedStyle(e).direction") == "rtl"
        await a.locator(".ticket-list li a").first.click()
        msg = a.locator(".timeline .msg .text", has_text="۱۲۳۴").first
        await msg.wait_for()
        assert await msg.text_content() == text
        assert await msg.evaluate("e => getComputedStyle(e).direction") == "rtl"
        # An English reply inside the Persian console still reads left to right.
        await a.click("button[data-action=claim]")
        await a.fill("#reply-text", "Hello, tracking number 998")
        await a.click("button.send-reply")
        out = a.locator(".timeline .msg.dir-out .text").first
        await out.wait_for()
        assert await out.evaluate("e => getComputedStyle(e).direction") == "ltr"
        await agent.shot("console-persian")
        assert not customer.errors and not agent.unexpected("/api/callbacks"), customer.errors + agent.errors


async def test_markup_in_messages_is_shown_as_text(browser: Any, sqlite_url: str) -> None:
    evil = '<img src=x onerror="window.__pwned=1"><b>bold</b>'
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("ana@example.com", name="<i>Ana</i>")
        customer = await open_page(browser, h.url + "/chat")
        c = customer.page
        await c.locator(".status.online").wait_for()
        await c.click("summary")
        await c.fill("#hubchat-name", '<img src=x onerror="window.__pwned=2">')
        await c.click(".details button[type=submit]")
        await c.locator(".status.online").wait_for()
        await say(customer, evil)
        agent = await console_login(browser, h, "ana@example.com")
        a = agent.page
        await a.locator(".ticket-list li a").first.click()
        await a.locator(".timeline .msg .text").first.wait_for()
        await a.click("button[data-action=claim]")
        await a.fill("#reply-text", "reply " + evil)
        await a.click("button.send-reply")
        await c.locator(".msg.from-agent .text").wait_for()

        for page, selector, expected in (
            (c, ".msg.from-customer .text", evil),
            (c, ".msg.from-agent .text", "reply " + evil),
            (a, ".timeline .msg.dir-in .text", evil),
            (a, ".timeline .msg.dir-out .text", "reply " + evil),
        ):
            el = page.locator(selector).first
            assert await el.text_content() == expected
            assert await el.is_visible()
        for page in (c, a):
            # No element was created from the text: not in the page, not inside the widget's shadow root.
            count = await page.evaluate(
                """() => { const all = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
                           return all.reduce((n, r) => n + r.querySelectorAll('img, b, i').length, 0); }"""
            )
            assert count == 0
            assert await page.evaluate("window.__pwned") is None
        subject = a.locator(".ticket-list .subject").first
        assert "<img" in (await subject.text_content() or "")
        await agent.shot("console-markup-as-text")
