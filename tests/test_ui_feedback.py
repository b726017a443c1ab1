"""In Chromium: the survey page on a phone with JavaScript off (Persian, right to left), and the console's
satisfaction panel on a ticket, the customer's survey history and the supervisors' win-back tab."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from playwright.async_api import expect
from sqlalchemy import select, update

from hub.clock import FrozenClock
from hub.store.schema import surveys
from tests.browser import PHONE, browser, console_login, hub_for  # noqa: F401  (browser is a fixture)
from tests.hubtest import RunningHub, hub_config

START = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)


async def answered_low(h: RunningHub, clock: FrozenClock, text: str, lang: str = "en") -> tuple[int, int]:
    """A chat ticket resolved by an agent whose survey got a 1: (ticket id, survey id)."""
    a = await h.login("a@example.com")
    chat = await h.chat(lang=lang)
    tid = (await chat.say(text))["ticket_id"]
    assert (await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "Done."}))[0] == 201
    assert (await h.api("POST", f"/api/tickets/{tid}/resolve", a))[0] == 200
    clock.advance(hours=2)
    await h.hub.surveys.tick()
    ask = await chat.expect("message", author="system")
    await chat.say("1", payload=ask["buttons"][0]["payload"])
    await chat.say("The parcel was crushed <img src=x onerror=alert(1)>")
    await h.settle()
    await h.hub.surveys.drain()
    await chat.close()
    return tid, int(ask["buttons"][0]["payload"].split(":")[1])


async def test_survey_page_on_a_phone_without_javascript(browser: Any, sqlite_url: str) -> None:
    clock = FrozenClock(START)
    config = hub_config(sqlite_url, scheduler_interval=3600, tickets={"closing_message": {}})
    async with hub_for(browser, config, clock=clock) as h:
        await h.add_agent("a@example.com", departments=["support"])
        a = await h.login("a@example.com")
        chat = await h.chat(lang="fa")
        tid = (await chat.say("سفارشم دیر رسید"))["ticket_id"]
        await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "پیگیری شد"})
        await h.api("POST", f"/api/tickets/{tid}/resolve", a)
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        # The link an email survey carries, issued for this survey.
        async with h.hub.db.write() as conn:
            sid = (await conn.execute(select(surveys.c.id).where(surveys.c.ticket_id == tid))).scalar_one()
            expires = clock.now() + timedelta(days=3)
            token = (await h.hub.surveys.signer()).issue(sid, expires)
            await conn.execute(update(surveys).where(surveys.c.id == sid).values(token_hash=token.hash, expires_at=expires))
        context = await browser.new_context(java_script_enabled=False, viewport=PHONE, locale="fa-IR", is_mobile=True, has_touch=True)
        page = await context.new_page()
        await page.goto(f"{h.url}/survey/{token.value}")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
        await page.locator("label", has_text="۲").first.tap()
        await page.fill("textarea[name=comment]", "بسته آسیب دیده بود")
        await page.locator("button[type=submit]").tap()
        await expect(page.locator(".ok")).to_be_visible()
        await expect(page.locator("input[name=score][value='2']")).to_be_checked()
        _, res = await h.api("GET", f"/api/tickets/{tid}/surveys", a)
        assert (res["items"][0]["score"], res["items"][0]["comment"]) == (2, "بسته آسیب دیده بود")
        await page.goto(f"{h.url}/survey/{token.value}")  # the mailed link is used up
        await expect(page.locator("h1")).to_be_visible()
        assert "منقضی" in await page.content()


async def test_console_shows_surveys_followups_and_the_winback_tab(browser: Any, sqlite_url: str) -> None:
    clock = FrozenClock(START)
    config = hub_config(sqlite_url, scheduler_interval=3600, tickets={"closing_message": {}})
    async with hub_for(browser, config, clock=clock) as h:
        await h.add_agent("a@example.com", departments=["support"])
        await h.add_agent("sup@example.com", "supervisor", departments=["support"], name="Supa")
        tid, _ = await answered_low(h, clock, "My parcel arrived crushed")
        tab = await console_login(browser, h, "a@example.com", timezone_id="UTC")
        p = tab.page
        await p.goto(f"{h.url}/console#/ticket/{tid}")
        panel = p.locator("section.feedback")
        await expect(panel.locator(".survey-score")).to_have_text("Score 1/5")
        await expect(panel.locator("blockquote")).to_have_text("The parcel was crushed <img src=x onerror=alert(1)>")
        await expect(panel.locator("a[href^='#/ticket/']")).to_have_count(1)  # the complaint follow-up
        await expect(p.locator(".customer-surveys .survey")).to_have_count(1)
        await p.select_option("#fu-mode", "message")
        await p.fill("#fu-days", "2")
        await p.fill("#fu-text", "Did the replacement arrive in one piece?")
        await p.click("form.followup-form button[type=submit]")
        await expect(panel.locator("li[data-followup]")).to_have_count(1)
        await expect(panel.locator("li[data-followup]")).to_contain_text("Did the replacement arrive")
        assert not tab.unexpected("/api/callbacks")
        # Weeks later the supervisor finds the customer on the win-back list, in Persian.
        clock.advance(days=40)
        sup = await console_login(browser, h, "sup@example.com", lang="fa", timezone_id="UTC")
        q = sup.page
        await q.click("a.tab[href='#/winback']")
        await q.fill("#wb-days", "30")
        await q.click("section.winback form button[type=submit]")
        rows = q.locator("section.winback tbody tr[data-customer]")
        await expect(rows).to_have_count(1)
        await expect(q.locator("html")).to_have_attribute("dir", "rtl")
        await rows.first.locator("button").click()
        await expect(rows.first).to_contain_text("#")
        assert not sup.unexpected("/api/callbacks")
