"""The agent console: canned replies (API and UI), assignment alerts, filters, SLA highlighting, presence,
failed deliveries, and labels on every control."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlalchemy import update

from hub.store.schema import tickets
from tests.browser import browser, console_login, hub_for, open_page, say  # noqa: F401  (browser is a fixture)
from tests.hubtest import hub_config

NO_CALLBACKS = "/api/callbacks"  # these hubs run without the callback channel: the console's probe gets a 404


async def test_canned_replies_api(hub: Any) -> None:
    agent = await hub.agent("a@example.com")
    boss = await hub.agent("s@example.com", role="supervisor")
    status, made = await hub.api("POST", "/api/canned", agent, json={"title": "Greeting", "language": "th", "text": "สวัสดีค่ะ <b>"})
    assert status == 201 and made["language"] == "th" and made["text"] == "สวัสดีค่ะ <b>"
    await hub.api("POST", "/api/canned", agent, json={"title": "Hello", "language": "en", "text": "Hello!"})
    status, page = await hub.api("GET", "/api/canned?language=th", agent)
    assert status == 200 and [c["title"] for c in page["items"]] == ["Greeting"]
    assert len((await hub.api("GET", "/api/canned", agent))[1]["items"]) == 2
    for bad, field in (({"title": "x", "language": "Thai!", "text": "t"}, "language"), ({"title": " ", "language": "en", "text": "t"}, "title"),
                       ({"title": "x", "language": "en"}, "text"), ({"title": "x", "language": "en", "text": 5}, "text")):
        status, body = await hub.api("POST", "/api/canned", agent, json=bad)
        assert status == 422 and body["error"]["field"] == field, body
    assert (await hub.api("GET", "/api/canned?language=x y", agent))[0] == 422
    assert (await hub.api("GET", "/api/canned"))[0] == 401
    assert (await hub.api("DELETE", f"/api/canned/{made['id']}", agent))[0] == 403
    assert (await hub.api("DELETE", f"/api/canned/{made['id']}", boss))[0] == 200
    assert (await hub.api("DELETE", f"/api/canned/{made['id']}", boss))[0] == 404


async def test_canned_reply_and_alert_for_a_newly_assigned_ticket(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("ana@example.com", name="Ana")
        bea_id = await h.add_agent("bea@example.com", name="Bea")
        chat = await h.chat(lang="th", name="สมชาย")
        await chat.say("สั่งของไปแล้วยังไม่ได้รับ")
        ana = await console_login(browser, h, "ana@example.com")
        bea = await console_login(browser, h, "bea@example.com")
        a, b = ana.page, bea.page

        await a.locator(".ticket-list li a").first.click()
        await a.click("button[data-action=claim]")
        await a.locator(".ticket-head .chip.status-assigned").wait_for()
        await a.fill("#reply-text", "ขออภัยในความล่าช้าค่ะ จะตรวจสอบให้ทันที")
        await a.click(".canned button.link")
        await a.fill("#canned-title", "ขออภัย")
        assert await a.input_value("#canned-lang") == "th"  # the ticket's language
        await a.click("button.canned-save")
        await a.locator("#canned optgroup[label='In th'] option", has_text="ขออภัย").wait_for(state="attached")
        await a.fill("#reply-text", "")
        await a.select_option("#canned", label="ขออภัย (th)")
        assert await a.input_value("#reply-text") == "ขออภัยในความล่าช้าค่ะ จะตรวจสอบให้ทันที"
        await a.click("button.send-reply")
        await a.locator(".timeline .msg.from-agent .delivery.sent").wait_for()
        assert (await chat.expect("message"))["text"] == "ขออภัยในความล่าช้าค่ะ จะตรวจสอบให้ทันที"

        # Ana hands the ticket to Bea: Bea's console shows a badge and plays the alert, without a reload.
        await a.select_option("#transfer-to", value=f"a:{bea_id}")
        await a.click("button[data-action=transfer]")
        badge = b.locator("a.tab .badge:not([hidden])").first
        await badge.wait_for()
        assert await badge.text_content() == "1"
        assert await b.evaluate("Number(document.body.dataset.beeps)") >= 1
        assert (await b.title()).startswith("(1)")
        await b.locator(".ticket-list li.unseen a").click()
        await b.locator(".timeline .msg").first.wait_for()
        assert await b.locator("a.tab .badge:not([hidden])").count() == 0
        await bea.shot("console-after-transfer")
        assert not ana.unexpected(NO_CALLBACKS) and not bea.unexpected(NO_CALLBACKS), ana.errors + bea.errors


async def test_filters_breached_sla_and_presence(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        agent_id = await h.add_agent("ana@example.com", name="Ana")
        first = await (await h.chat()).say("my order is late")
        await (await h.chat()).say("question about sizes")
        # The first ticket's first-response deadline has passed.
        async with h.hub.db.write() as conn:
            await conn.execute(update(tickets).where(tickets.c.id == first["ticket_id"]).values(first_response_due=h.hub.clock.now() - timedelta(minutes=5)))
        tab = await console_login(browser, h, "ana@example.com")
        p = tab.page
        rows = p.locator(".ticket-list li")
        await rows.nth(1).wait_for()
        breached = p.locator(".ticket-list li.breached")
        assert await breached.count() == 1
        assert await breached.get_attribute("data-id") == str(first["ticket_id"])
        assert "breached" in (await breached.locator(".sla").text_content() or "")
        assert await rows.first.get_attribute("data-id") == str(first["ticket_id"])  # most urgent first
        await tab.shot("console-queue-breached")

        await p.select_option("#f-channel", "email")
        await p.locator(".queue .muted:not([hidden])").wait_for()
        assert await rows.count() == 0
        await p.select_option("#f-channel", "webchat")
        await expect(rows).to_have_count(2)
        await p.fill("#f-q", "sizes")
        await p.press("#f-q", "Enter")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("question about sizes")
        await p.fill("#f-q", "")
        await p.press("#f-q", "Enter")
        await p.select_option("#f-assignee", "me")
        await p.locator(".queue .muted:not([hidden])").wait_for()
        # A live event for a ticket that does not match the filters stays out of the list.
        await (await h.chat()).say("third one")
        await h.settle()
        assert await rows.count() == 0
        await p.select_option("#f-assignee", "")
        await p.locator(".ticket-list li", has_text="third one").wait_for()
        # Filters survive a reload.
        await p.reload()
        await p.locator(".ticket-list li", has_text="third one").wait_for()
        assert await p.input_value("#f-channel") == "webchat"

        await p.select_option("#presence", "away")
        headers = await h.login("ana@example.com")
        for _ in range(50):
            _, agents = await h.api("GET", "/api/agents", headers)
            if next(a for a in agents["items"] if a["id"] == agent_id)["presence"] == "away":
                break
            await p.wait_for_timeout(100)
        else:
            raise AssertionError("presence did not reach the server")
        assert not tab.unexpected(NO_CALLBACKS), tab.errors


UNLABELLED = """() => {
  const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
  const bad = [];
  for (const root of roots) {
    for (const el of root.querySelectorAll('input, select, textarea, button')) {
      if (el.type === 'hidden' || el.closest('[hidden]')) continue;
      const label = el.getAttribute('aria-label') || (el.labels && [...el.labels].map(l => l.textContent).join('').trim())
        || (el.tagName === 'BUTTON' && el.textContent.trim()) || el.closest('label')?.textContent.trim();
      if (!label) bad.push(el.outerHTML.slice(0, 80));
    }
  }
  return bad;
}"""


async def test_failed_delivery_shows_its_reason_and_every_control_is_labelled(browser: Any, sqlite_url: str) -> None:
    config = hub_config(
        sqlite_url,
        channels={"webchat": {"enabled": True}, "callback": {"enabled": True}},
        departments=[{"name": "support", "default": True}, {"name": "callbacks"}],
    )
    async with hub_for(browser, config) as h:
        await h.add_agent("ana@example.com", name="Ana", departments=["callbacks"])
        # A phone-only callback request: its ticket has no written channel, so a reply cannot be delivered.
        _, slots = await h.api("GET", "/api/callbacks/slots?date=" + _weekday_ahead() + "&tz=Asia/Bangkok")
        slot = next(s for s in slots["items"] if s.get("available"))
        status, booked = await h.api("POST", "/api/callbacks", json={"name": "Nok", "phone": "+66 81 234 5678", "slot": slot["start"], "tz": "Asia/Bangkok"})
        assert status == 201, booked
        tab = await console_login(browser, h, "ana@example.com")
        p = tab.page
        assert await p.evaluate(UNLABELLED) == []
        await p.goto(f"{h.url}/console#/ticket/{booked['ticket_id']}")
        await p.locator(".ticket-head").wait_for()
        if await p.locator("button[data-action=claim]").count():
            await p.click("button[data-action=claim]")
            await p.locator(".ticket-head .chip.status-assigned").wait_for()
        await p.fill("#reply-text", "We tried to call you")
        await p.click("button.send-reply")
        failed = p.locator(".timeline .msg.from-agent .delivery.failed")
        await failed.wait_for()
        assert "phone call" in (await failed.text_content() or "")
        assert await p.evaluate(UNLABELLED) == []
        await tab.shot("console-delivery-failed")

        chat = await open_page(browser, h.url + "/chat")
        await chat.page.click("button.callback")
        await chat.page.locator("#hubchat-phone").wait_for()
        assert await chat.page.evaluate(UNLABELLED) == []


def _weekday_ahead() -> str:
    day = datetime.now(ZoneInfo("Asia/Bangkok")).date() + timedelta(days=3)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.isoformat()
