"""The console from the keyboard and with colleagues: J/K through the queue, "/" canned replies, Ctrl+Enter, Esc,
filters as choices, @mentions in notes (live and after a later login) and desktop notifications."""
from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.browser import browser, console_login, hub_for  # noqa: F401  (browser is a fixture)
from tests.hubtest import RunningHub, hub_config

NO_CALLBACKS = "/api/callbacks"  # these hubs run without the callback channel: the console's probe gets a 404
# Records what the console shows as desktop notifications (headless Chromium shows none of its own).
SPY = """(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__shown = [];
  const Spy = function (title, options) { window.__shown.push({ title, body: options && options.body, tag: options && options.tag }); return new Real(title, options); };
  Object.defineProperty(Spy, "permission", { get: () => Real.permission });
  Spy.requestPermission = (...a) => Real.requestPermission(...a);
  window.Notification = Spy;
})()"""


async def _tickets(h: RunningHub, headers: dict[str, str], *texts: str) -> list[int]:
    for text in texts:
        await (await h.chat()).say(text)
    await h.settle()
    _, page = await h.api("GET", "/api/tickets", headers)
    return sorted(t["id"] for t in page["items"])


async def _step(p: Any, delta: int, press: Any) -> int:
    """Press a J/K key and expect the ticket next to the open one in the queue as it is now: the queue is live and
    sorts by SLA deadline, so an update (a review, an assignment) may reorder it while the test runs."""
    ids = [int(x) for x in await p.locator(".ticket-list li").evaluate_all("els => els.map(e => e.dataset.id)")]
    m = re.search(r"#/ticket/(\d+)$", p.url)
    at = ids.index(int(m.group(1))) if m and int(m.group(1)) in ids else -1
    want = ids[(0 if delta > 0 else len(ids) - 1) if at < 0 else min(max(at + delta, 0), len(ids) - 1)]
    await press()
    await expect(p).to_have_url(re.compile(f"#/ticket/{want}$"))
    return want


async def test_keyboard_moves_through_the_queue_and_answers(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("ana@example.com", name="Ana", role="supervisor")
        admin = await h.login("ana@example.com")
        ids = await _tickets(h, admin, "where is my parcel", "question about sizes", "refund please")
        await h.api("POST", "/api/canned", admin, json={"title": "Sorry for the wait", "language": "en", "text": "Sorry for the wait, checking now."})
        await h.api("POST", "/api/canned", admin, json={"title": "ขออภัย", "language": "th", "text": "ขออภัยค่ะ"})
        tab = await console_login(browser, h, "ana@example.com")
        p = tab.page
        await expect(p.locator(".ticket-list li")).to_have_count(3)
        order = [int(x) for x in await p.locator(".ticket-list li").evaluate_all("els => els.map(e => e.dataset.id)")]
        assert sorted(order) == ids

        await _step(p, 1, lambda: p.keyboard.press("j"))
        await _step(p, 1, lambda: p.keyboard.press("j"))
        await expect(p.locator(".ticket-list li a[aria-current=true]")).to_have_count(1)
        await _step(p, -1, lambda: p.keyboard.press("k"))
        # With a Thai layout the J key types "่": the key's place on the keyboard still moves on.
        shown = await _step(p, 1, lambda: p.evaluate(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: '่', code: 'KeyJ', bubbles: true}))"))
        await expect(p.locator("#ticket-title")).to_contain_text(f"#{shown}")

        # "/" opens the canned-reply search in the reply box; typing narrows it; Enter takes the highlighted one.
        await p.keyboard.press("/")
        await expect(p.locator("#reply-text")).to_be_focused()
        await expect(p.locator("#suggest")).to_be_visible()
        await expect(p.locator("#suggest li.suggestion")).to_have_count(2)
        await p.keyboard.type("wait")
        await expect(p.locator("#suggest li.suggestion")).to_have_count(1)
        await p.keyboard.press("Enter")
        await expect(p.locator("#suggest")).to_be_hidden()
        assert await p.input_value("#reply-text") == "Sorry for the wait, checking now."
        # "24/7" does not open the list: "/" must start a word.
        await p.keyboard.type(" We are here 24/7")
        await expect(p.locator("#suggest")).to_be_hidden()
        await p.keyboard.press("Control+Enter")
        sent = p.locator(".timeline .msg.from-agent")
        await expect(sent).to_have_count(1)
        await expect(sent).to_contain_text("Sorry for the wait, checking now. We are here 24/7")
        assert await p.input_value("#reply-text") == ""

        # Esc closes the list first, then leaves the field; J then works again.
        await p.keyboard.type("/")
        await expect(p.locator("#suggest")).to_be_visible()
        await p.keyboard.press("Escape")
        await expect(p.locator("#suggest")).to_be_hidden()
        await expect(p.locator("#reply-text")).to_be_focused()
        await p.keyboard.press("Escape")
        assert await p.evaluate("document.activeElement === document.body")
        # The answered ticket moved down the queue (its next deadline is later): J follows the list as it is now.
        order = [int(x) for x in await p.locator(".ticket-list li").evaluate_all("els => els.map(e => e.dataset.id)")]
        at = order.index(int(p.url.rsplit("/", 1)[1]))
        for step in range(at + 1, len(order) + 1):  # past the last one it stays there
            await p.keyboard.press("j")
            await expect(p).to_have_url(re.compile(f"#/ticket/{order[min(step, len(order) - 1)]}$"))
        # J typed into a field is just a letter.
        await p.fill("#reply-text", "")
        await p.focus("#reply-text")
        await p.keyboard.press("j")
        assert await p.input_value("#reply-text") == "j"
        assert p.url.endswith(f"#/ticket/{order[-1]}")
        await p.keyboard.press("Escape")
        await p.keyboard.press("?")
        await expect(p.locator("#keys-help")).to_be_visible()
        await p.keyboard.press("Escape")
        await expect(p.locator("#keys-help")).to_be_hidden()
        assert not tab.unexpected(NO_CALLBACKS), tab.errors


async def test_department_and_kind_filters_are_choices_in_the_agents_language(browser: Any, sqlite_url: str) -> None:
    cfg = hub_config(sqlite_url, departments=[{"name": "support", "default": True, "label": {"th": "ฝ่ายบริการ", "fa": "پشتیبانی"}},
                                              {"name": "billing", "label": {"th": "การเงิน", "fa": "مالی"}, "keywords": {"en": ["refund"]}}])
    async with hub_for(browser, cfg) as h:
        await h.add_agent("ana@example.com", name="Ana")
        await (await h.chat(lang="th")).say("สั่งเสื้อไปสองตัว")
        await (await h.chat()).say("I want a refund for my order")
        await h.settle()
        tab = await console_login(browser, h, "ana@example.com", lang="th")
        p = tab.page
        rows = p.locator(".ticket-list li")
        await expect(rows).to_have_count(2)
        assert await p.locator("#f-department").evaluate("e => e.tagName") == "SELECT"
        options = await p.locator("#f-department option").evaluate_all("os => os.map(o => [o.value, o.textContent])")
        assert options == [["", "ทั้งหมด"], ["support", "ฝ่ายบริการ"], ["billing", "การเงิน"]]
        kinds = await p.locator("#f-kind option").evaluate_all("os => os.map(o => o.value)")
        assert kinds == ["", "question", "complaint", "sales", "callback", "feedback"]
        await p.select_option("#f-department", "billing")
        await expect(rows).to_have_count(1)
        # Chips in Thai: status, kind, department from config, language from the browser's own names.
        chips = rows.first.locator(".chip")
        await expect(rows.first.locator(".chip.dept")).to_have_text("การเงิน")
        await expect(rows.first.locator(".chip.status-queued")).to_have_text("รอคิว")
        assert (await rows.first.locator(".chip.kind").text_content()) in ("คำถาม", "ร้องเรียน", "การขาย")
        await expect(rows.first.locator(".chip.lang")).to_have_text("อังกฤษ")
        assert await chips.count() >= 4
        await p.select_option("#f-department", "")
        await p.select_option("#f-kind", "complaint")
        await p.reload()
        assert await p.input_value("#f-kind") == "complaint"
        # A free-text value kept from an older console is not offered any more: the filter falls back to any.
        await p.evaluate("localStorage.setItem('hubconsole.filters', JSON.stringify({status: 'open', department: 'bil'}))")
        await p.reload()
        await expect(rows).to_have_count(2)
        assert await p.input_value("#f-department") == ""
        assert not tab.unexpected(NO_CALLBACKS), tab.errors


async def test_a_mention_in_a_note_notifies_the_colleague_now_and_later(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("ana@example.com", name="Ana")
        await h.add_agent("bea@example.com", name="Bea Lima")
        await h.add_agent("nok@example.com", name="นก")
        chat = await h.chat(lang="th", name="สมชาย")
        await chat.say("ของยังไม่มาเลยค่ะ")
        await h.settle()
        ana = await console_login(browser, h, "ana@example.com")
        bea = await console_login(browser, h, "bea@example.com", permissions=["notifications"], init_script=SPY)
        a, b = ana.page, bea.page
        await expect(b.locator("button.notify-toggle")).to_have_attribute("aria-pressed", "true")  # allowed earlier

        await a.locator(".ticket-list li a").first.click()
        await a.locator(".ticket-head").wait_for()
        tid = int(a.url.rsplit("/", 1)[1])
        await a.click("#reply-text")
        await a.keyboard.type("@be")
        await expect(a.locator("#suggest li.suggestion")).to_have_count(1)
        await expect(a.locator("#suggest li.suggestion")).to_contain_text("Bea Lima")
        await a.keyboard.press("Enter")
        await a.keyboard.type("ช่วยดูหน่อย <b>ด่วน</b> และ @นก")
        await a.keyboard.press("Escape")  # the list for @นก is open; Esc closes it and keeps the text
        assert await a.input_value("#reply-text") == "@Bea Lima ช่วยดูหน่อย <b>ด่วน</b> และ @นก"
        await a.click("button.note-btn")
        await a.locator(".timeline .note").wait_for()

        badge = b.locator(".mentions-toggle .badge:not([hidden])")
        await expect(badge).to_have_text("1")
        shown = await b.evaluate("window.__shown")
        assert any(n["title"] == f"Ana mentioned you on #{tid}" and "<b>ด่วน</b>" in n["body"] for n in shown), shown
        await b.click("button.mentions-toggle")
        item = b.locator(".mention-list li.unseen")
        await expect(item).to_contain_text("<b>ด่วน</b>")  # shown as text, never as markup
        assert await b.locator(".mention-list b").count() == 0
        await item.locator("a").click()
        await expect(b).to_have_url(re.compile(f"#/ticket/{tid}$"))
        await expect(badge).to_have_count(0)
        await expect(b.locator(".timeline .note.mentions-me")).to_have_count(1)  # the note that names Bea stands out
        assert await a.locator(".timeline .note.mentions-me").count() == 0

        # Nok was not logged in: the mention is waiting at the next login, and a reload keeps it seen once opened.
        nok = await console_login(browser, h, "nok@example.com")
        await expect(nok.page.locator(".mentions-toggle .badge:not([hidden])")).to_have_text("1")
        await nok.page.goto(f"{h.url}/console#/ticket/{tid}")
        await nok.page.locator(".ticket-head").wait_for()
        await expect(nok.page.locator(".mentions-toggle .badge:not([hidden])")).to_have_count(0)
        await nok.page.reload()
        await nok.page.locator(".mentions[data-loaded]").wait_for(state="attached")
        await expect(nok.page.locator(".mentions-toggle .badge:not([hidden])")).to_have_count(0)
        for tab in (ana, bea, nok):
            assert not tab.unexpected(NO_CALLBACKS), tab.errors


async def test_desktop_notification_for_a_newly_assigned_ticket(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("ana@example.com", name="Ana", role="supervisor")
        bea_id = await h.add_agent("bea@example.com", name="Bea")
        await (await h.chat()).say("my order arrived broken")
        await h.settle()
        bea = await console_login(browser, h, "bea@example.com", init_script=SPY)
        b = bea.page
        toggle = b.locator("button.notify-toggle")
        # Headless Chromium answers "denied" like a browser where the agent once said no: the button says so.
        await expect(toggle).to_have_text("Desktop alerts")
        await expect(toggle).to_have_attribute("title", "Desktop alerts are blocked in this browser")
        await b.context.grant_permissions(["notifications"])  # the agent allows them in the site settings
        await expect(toggle).to_have_text("Desktop alerts on")
        ana = await h.login("ana@example.com")
        _, page = await h.api("GET", "/api/tickets", ana)
        tid = page["items"][0]["id"]
        status, _ = await h.api("POST", f"/api/tickets/{tid}/transfer", ana, json={"agent_id": bea_id})
        assert status == 200
        await b.locator("a.tab .badge:not([hidden])").wait_for()
        shown = await b.evaluate("window.__shown")
        assert [n["title"] for n in shown] == [f"Ticket #{tid} is now yours"], shown
        assert shown[0]["body"] == "my order arrived broken" and shown[0]["tag"] == f"assigned-{tid}"
        # Muted: the badge still counts, no notification pops up.
        await b.locator(".ticket-list li.unseen a").click()
        await expect(b.locator("a.tab .badge:not([hidden])")).to_have_count(0)
        await b.goto(f"{h.url}/console#/")
        await b.locator(".live.online").wait_for()
        await b.check("#mute")
        await h.api("POST", f"/api/tickets/{tid}/transfer", ana, json={"department": "billing"})
        await h.api("POST", f"/api/tickets/{tid}/transfer", ana, json={"agent_id": bea_id})
        await expect(b.locator("a.tab .badge:not([hidden])")).to_have_text("1")
        assert len(await b.evaluate("window.__shown")) == 1
        # Switched off in the console while the browser still allows them: none either, also after a reload.
        await b.uncheck("#mute")
        await toggle.click()
        await expect(toggle).to_have_text("Desktop alerts off")
        await expect(toggle).to_have_attribute("aria-pressed", "false")
        await b.reload()
        await b.locator(".live.online").wait_for()
        await expect(toggle).to_have_text("Desktop alerts off")
        await h.api("POST", f"/api/tickets/{tid}/transfer", ana, json={"department": "billing"})
        await h.api("POST", f"/api/tickets/{tid}/transfer", ana, json={"agent_id": bea_id})
        await expect(b.locator("a.tab .badge:not([hidden])")).to_have_text("1")
        assert await b.evaluate("window.__shown") == []  # a fresh page's record: nothing shown since the reload
        assert not bea.unexpected(NO_CALLBACKS), bea.errors
