"""The console's management views and its looks: admins manage agents and roles, supervisors edit and delete canned
replies, a 390 px phone gets the queue and the ticket as two views (also right to left), dark mode follows the
system."""
from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.browser import PHONE, browser, console_login, hub_for  # noqa: F401  (browser is a fixture)
from tests.hubtest import hub_config

NO_CALLBACKS = "/api/callbacks"  # these hubs run without the callback channel: the console's probe gets a 404


async def test_admin_adds_changes_and_deactivates_agents(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("root@example.com", name="Root", role="admin")
        await h.add_agent("sup@example.com", name="Sup", role="supervisor")
        admin = await console_login(browser, h, "root@example.com")
        p = admin.page
        p.on("dialog", lambda d: d.accept())
        await p.click("a.tab[href='#/agents']")
        view = p.locator(".agents-view")
        await expect(view.locator("tbody tr")).to_have_count(2)
        # An admin cannot take away their own role or access.
        mine = view.locator("tr", has_text="root@example.com")
        await expect(mine.locator("select")).to_be_disabled()
        await expect(mine.locator("button.deactivate")).to_be_disabled()

        await p.fill("#new-agent-name", "<i>Nok</i>")
        await p.fill("#new-agent-email", "nok@example.com")
        await p.check(".add-agent input[value=billing]")
        await p.click(".add-agent button[type=submit]")
        once = view.locator("code.once")
        await expect(once).to_be_visible()
        password = await once.text_content()
        assert password and len(password) >= 12
        row = view.locator("tr", has_text="nok@example.com")
        await expect(row).to_contain_text("<i>Nok</i>")  # a name is text, never markup
        assert await view.locator("tbody i").count() == 0
        await expect(row.locator(".chip.dept")).to_have_text("billing")

        nok = await console_login(browser, h, "nok@example.com", password=password)
        await row.locator("select").select_option("supervisor")
        await expect(view.locator(".status-line")).to_have_text("Saved.")
        # Nok's console takes the new role at once: the canned-replies view appears for a supervisor.
        await nok.page.locator("a.tab[href='#/canned']").wait_for()
        await row.locator("button.deactivate").click()
        await expect(row.locator(".chip.inactive")).to_be_visible()
        # Deactivation ends Nok's session on the spot: the open console is back at the login form.
        await nok.page.locator("#login-email").wait_for()
        await nok.page.fill("#login-email", "nok@example.com")
        await nok.page.fill("#login-password", password)
        await nok.page.press("#login-password", "Enter")
        await expect(nok.page.locator(".login .error")).to_have_text("Wrong email or password.")

        await row.locator("button.reactivate").click()
        await row.locator("button.reset-password").click()
        await expect(once).to_be_visible()
        fresh = await once.text_content()
        assert fresh and fresh != password
        await console_login(browser, h, "nok@example.com", password=fresh)

        # Neither a supervisor nor an agent sees the agents view; the server refuses them anyway.
        sup = await console_login(browser, h, "sup@example.com")
        await sup.page.locator("a.tab[href='#/canned']").wait_for()
        assert await sup.page.locator("a.tab[href='#/agents']").count() == 0
        await sup.page.goto(h.url + "/console#/agents")
        await sup.page.locator(".queue").wait_for()
        assert await sup.page.locator(".agents-view").count() == 0
        await admin.shot("console-agents")
        for tab in (admin, sup):
            assert not tab.unexpected(NO_CALLBACKS), tab.errors


async def test_supervisor_edits_and_deletes_canned_replies(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("sup@example.com", name="Sup", role="supervisor")
        await h.add_agent("ana@example.com", name="Ana")
        ana_h = await h.login("ana@example.com")
        _, hello = await h.api("POST", "/api/canned", ana_h, json={"title": "Hello", "language": "en", "text": "Hello!"})
        await h.api("POST", "/api/canned", ana_h, json={"title": "سلام", "language": "fa", "text": "سلام، چطور می‌توانم کمک کنم؟"})
        sup = await console_login(browser, h, "sup@example.com")
        ana = await console_login(browser, h, "ana@example.com")
        s, a = sup.page, ana.page
        s.on("dialog", lambda d: d.accept())
        assert await a.locator("a.tab[href='#/canned']").count() == 0  # agents add replies, they do not manage them

        await s.click("a.tab[href='#/canned']")
        items = s.locator(".canned-view .canned-item")
        await expect(items).to_have_count(2)
        item = s.locator(f".canned-item[data-canned='{hello['id']}']")
        await item.locator("button.edit").click()
        await s.fill(f"#canned-edit-{hello['id']}-title", "ทักทาย")
        await s.fill(f"#canned-edit-{hello['id']}-lang", "th")
        await s.fill(f"#canned-edit-{hello['id']}-text", "สวัสดีค่ะ <b>ยินดีช่วยเหลือ</b>")
        await s.keyboard.press("Control+Enter")
        await expect(item.locator(".text")).to_have_text("สวัสดีค่ะ <b>ยินดีช่วยเหลือ</b>")
        # Ana's open console offers the edited reply without a reload.
        await a.locator("#canned option", has_text="ทักทาย (th)").wait_for(state="attached")
        assert await a.locator("#canned option", has_text="Hello (en)").count() == 0

        fa = s.locator(".canned-item", has_text="سلام")
        await fa.locator("button.delete").click()
        await expect(items).to_have_count(1)
        await expect(a.locator("#canned option", has_text="سلام")).to_have_count(0)
        # A bad edit shows the server's reason and keeps the form.
        await item.locator("button.edit").click()
        await s.fill(f"#canned-edit-{hello['id']}-lang", "Thai!")
        await s.click(f".canned-item[data-canned='{hello['id']}'] button.save")
        await expect(s.locator(".canned-editor .error")).to_contain_text("language")
        assert not sup.unexpected(NO_CALLBACKS, f"/api/canned/{hello['id']}"), sup.errors  # the refused edit
        assert not ana.unexpected(NO_CALLBACKS), ana.errors


OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def test_phone_shows_queue_and_ticket_as_two_views_in_both_directions(browser: Any, sqlite_url: str) -> None:
    cfg = hub_config(sqlite_url, departments=[{"name": "support", "default": True, "label": {"fa": "پشتیبانی", "th": "ฝ่ายบริการ"}}])
    async with hub_for(browser, cfg) as h:
        await h.add_agent("ana@example.com", name="Ana")
        await (await h.chat(lang="en", name="Nok")).say("my parcel has not arrived yet")
        await (await h.chat(lang="fa", name="مریم")).say("سفارش من هنوز نرسیده است، لطفاً پیگیری کنید")
        await h.settle()
        cases = (("en", "my parcel", "Back to the queue", "Queued"), ("fa", "سفارش من", "بازگشت به صف", "در صف"))
        for lang, subject, back, status_text in cases:
            tab = await console_login(browser, h, "ana@example.com", lang=lang, viewport=PHONE)
            p = tab.page
            assert await p.evaluate("document.documentElement.dir") == ("rtl" if lang == "fa" else "ltr")
            queue, ticket = p.locator(".queue"), p.locator(".ticket")
            await expect(queue).to_be_visible()
            await expect(ticket).to_be_hidden()
            assert await p.evaluate(OVERFLOW) <= 0, "the queue is wider than the phone"
            row = p.locator(".ticket-list li", has_text=subject)
            await expect(row.locator(".chip.status-queued")).to_have_text(status_text)
            if lang == "fa":
                await expect(row.locator(".chip.dept")).to_have_text("پشتیبانی")
                await expect(row.locator(".chip.lang")).to_have_text("فارسی")
                await expect(row.locator(".tid")).to_have_text(re.compile("^#[۰-۹]+$"))  # Persian digits
                # Right to left: the row's channel icon sits at the right edge, its SLA at the left.
                icon, sla = await row.locator(".icon").bounding_box(), await row.locator(".sla").bounding_box()
                assert icon and sla and icon["x"] > sla["x"]
            await tab.shot(f"console-phone-queue-{lang}")
            await row.locator("a").click()
            await expect(ticket).to_be_visible()
            await expect(queue).to_be_hidden()
            await expect(p.locator(".ticket-head a.back")).to_have_text(back)
            await p.click("button[data-action=claim]")
            await p.locator(".ticket-head .chip.status-assigned").wait_for()
            await p.fill("#reply-text", "Checking now" if lang == "en" else "در حال بررسی هستیم")
            await p.locator("button.send-reply").click()
            await p.locator(".timeline .msg.from-agent .delivery.sent").last.wait_for()
            assert await p.evaluate(OVERFLOW) <= 0, "the ticket is wider than the phone"
            box = await p.locator("button.send-reply").bounding_box()
            assert box and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"]
            await tab.shot(f"console-phone-ticket-{lang}")
            await p.click(".ticket-head a.back")
            await expect(queue).to_be_visible()
            await expect(ticket).to_be_hidden()
            assert not tab.unexpected(NO_CALLBACKS), tab.errors


CONTRAST = """(sel) => {
  const lum = (c) => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bgOf = (el) => { for (; el; el = el.parentElement) { const b = getComputedStyle(el).backgroundColor; if (!/rgba\\(.*, 0\\)$|transparent/.test(b)) return b; } return "rgb(255, 255, 255)"; };
  const el = document.querySelector(sel);
  const a = lum(getComputedStyle(el).color), b = lum(bgOf(el));
  return { ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), background: lum(bgOf(document.body)) };
}"""


async def test_dark_mode_follows_the_system_setting(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("ana@example.com", name="Ana")
        await (await h.chat()).say("my order is late")
        await h.settle()
        for scheme in ("dark", "light"):
            tab = await console_login(browser, h, "ana@example.com", color_scheme=scheme)
            p = tab.page
            await p.locator(".ticket-list li a").first.click()
            await p.locator(".timeline .msg").first.wait_for()
            for sel in (".ticket-row .subject", ".chip.status-queued", ".timeline .msg .text", "button.secondary", "button.primary",
                        ".filter label", "#reply-text", ".customer h3", ".canned button.link", ".hint", ".topbar .tab"):
                got = await p.evaluate(CONTRAST, sel)
                assert got["ratio"] >= 4.5, (scheme, sel, got)  # WCAG AA for text, in both schemes
            body = (await p.evaluate(CONTRAST, ".queue h2"))["background"]
            assert (body < 0.05) if scheme == "dark" else (body > 0.8), (scheme, body)
            await tab.shot(f"console-{scheme}")
            assert not tab.unexpected(NO_CALLBACKS), tab.errors
            await p.context.close()
