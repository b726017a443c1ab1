"""The Reports tab in Chromium, in English, Persian (right to left, Persian digits) and Thai, with its charts, tables
and CSV export; the webhook delivery log for admins, with a delivery sent again after its receiver came up."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from hub.clock import FrozenClock
from tests import reportfixture as fx
from tests.browser import browser, console_login, hub_for  # noqa: F401  (browser is a fixture)
from tests.hubtest import hub_config
from tests.webhook_receiver import Receiver, free_port

NO_CALLBACKS = "/api/callbacks"  # these hubs run without the callback channel: the console's probe gets a 404


async def _week(p: Any) -> None:
    await p.click("a.tab[href='#/reports']")
    await p.fill("#rep-from", "2026-03-02")
    await p.fill("#rep-to", "2026-03-08")
    await p.click("#rep-show")


async def test_reports_tab_in_english_and_persian(browser: Any, sqlite_url: str) -> None:
    config = hub_config(sqlite_url, business_hours=fx.HOURS)
    async with hub_for(browser, config, clock=FrozenClock(fx.NOW)) as h:
        a = await h.add_agent("a@example.com", name="Anong")
        b = await h.add_agent("b@example.com", name="<b>Bahram</b>")
        ids = await fx.load(h.hub.db, a, b)
        await h.add_agent("sup@example.com", name="Sup", role="supervisor")
        await h.add_agent("plain@example.com", name="Plain")

        tab = await console_login(browser, h, "sup@example.com", timezone_id="UTC")
        p = tab.page
        await _week(p)
        kpi = p.locator(".kpi[data-kpi=tickets] .kpi-value")
        await expect(kpi).to_have_text("6")
        await expect(p.locator(".kpi[data-kpi=csat_pct] .kpi-value")).to_have_text("66.7%")
        await expect(p.locator(".kpi[data-kpi=first_response_median] .kpi-value")).to_have_text("15 min")
        await expect(p.locator(".report-section[data-section]")).to_have_count(6)
        assert await p.locator("svg.chart").count() >= 7
        volume = p.locator(".report-section[data-section=volume] table")
        await expect(volume.locator("tbody tr")).to_have_count(7)  # every day of the week, quiet ones too
        await expect(volume.locator("tfoot td[data-col=first_response_p90]")).to_have_text("48 min")  # 2880 s
        await expect(volume.locator("tbody tr").first.locator("th")).to_have_text("Mar 2")
        bars = p.locator(".report-section[data-section=volume] svg.chart").first.locator("rect.bar")
        assert await bars.count() == 5  # a bar per day with tickets
        missed = p.locator(".report-section[data-list=missed_questions]")
        await expect(missed.locator("tbody tr").first).to_contain_text("How do I reset my password?")
        await expect(missed.locator(f"a[href='#/ticket/{ids['t5']}']")).to_be_visible()

        async with p.expect_download() as info:
            await p.click("button[data-csv=volume]")
        download = await info.value
        raw = Path(await download.path()).read_bytes()
        assert download.suggested_filename == "volume_2026-03-02_2026-03-08.csv"
        assert raw.startswith("\ufeff".encode()) and b"\r\ntotal," in raw

        await p.select_option("#rep-group", "agent")
        await p.click("#rep-show")
        rows = p.locator(".report-section[data-section=volume] tbody tr")
        await expect(rows).to_have_count(3)
        await expect(rows.nth(0).locator("th")).to_have_text("Anong")
        await expect(rows.nth(1).locator("th")).to_have_text("<b>Bahram</b>")  # a name is text, never markup
        await expect(rows.nth(2).locator("th")).to_have_text("Unassigned")
        sat = p.locator(".report-section[data-section=satisfaction] tbody tr")  # Bahram has no answers
        await expect(sat).to_have_count(2)
        await expect(sat.nth(0).locator("td[data-col=csat_pct]")).to_have_text("50%")
        assert tab.unexpected(NO_CALLBACKS) == []
        await tab.shot("reports-en")

        # Persian: right to left, Persian digits, the chart's days mirrored.
        fa = await console_login(browser, h, "sup@example.com", lang="fa", timezone_id="UTC")
        q = fa.page
        await expect(q.locator("html")).to_have_attribute("dir", "rtl")
        await expect(q.locator("a.tab[href='#/reports']")).to_have_text("گزارش‌ها")
        await _week(q)
        await expect(q.locator(".kpi[data-kpi=tickets] .kpi-value")).to_have_text("۶")
        await expect(q.locator(".kpi[data-kpi=csat_pct] .kpi-value")).to_contain_text("۶۶٫۷")
        await expect(q.locator(".report-section[data-section=volume] h3")).to_have_text("تیکت‌ها و زمان پاسخ")
        first_day = q.locator(".report-section[data-section=volume] tbody tr").first.locator("th")
        day_text = await first_day.text_content() or ""
        assert any(ch in day_text for ch in "۰۱۲۳۴۵۶۷۸۹")
        chart = q.locator(".report-section[data-section=volume] svg.chart").first
        xs = await chart.locator("rect.bar").evaluate_all("rects => rects.map((r) => Number(r.getAttribute('x')))")
        assert xs == sorted(xs, reverse=True)  # the first day is drawn on the right
        assert fa.unexpected(NO_CALLBACKS) == []
        await fa.shot("reports-fa")

        # Thai: the same figures under Thai headings.
        th = await console_login(browser, h, "sup@example.com", lang="th", timezone_id="UTC")
        await expect(th.page.locator("a.tab[href='#/reports']")).to_have_text("รายงาน")
        await _week(th.page)
        await expect(th.page.locator(".kpi[data-kpi=tickets] .kpi-value")).to_have_text("6")
        await expect(th.page.locator(".report-section[data-section=volume] h3")).to_have_text("จำนวนตั๋วและเวลาตอบกลับ")
        await expect(th.page.locator(".kpi[data-kpi=first_response_median] .kpi-value")).to_contain_text("15")
        assert th.unexpected(NO_CALLBACKS) == []

        # An agent has no Reports tab, and the API refuses them.
        plain = await console_login(browser, h, "plain@example.com")
        await expect(plain.page.locator("a.tab[href='#/queue'], a.tab[href='#/']").first).to_be_visible()
        assert await plain.page.locator("a.tab[href='#/reports']").count() == 0


async def test_admin_sees_the_delivery_log_and_sends_again(browser: Any, sqlite_url: str) -> None:
    secret = "a-long-shared-secret-0123456789"
    rx = Receiver(free_port(), secret)
    hook = {"name": "crm", "url": rx.url, "secret": secret, "allow_private": True, "events": ["ticket.created"]}
    config = hub_config(sqlite_url, webhooks={"endpoints": [hook], "max_attempts": 1, "sweep_interval": 0.05, "timeout": 2})
    async with hub_for(browser, config) as h:
        await h.add_agent("root@example.com", name="Root", role="admin")
        chat = await h.chat(name="Nok", lang="th")
        await chat.say("สวัสดีค่ะ")
        await h.settle()
        tab = await console_login(browser, h, "root@example.com")
        p = tab.page
        await p.click("a.tab[href='#/webhooks']")
        row = p.locator(".webhook-log tbody tr[data-delivery]")
        for _ in range(100):  # the one try against the closed port ends as failed
            await p.select_option("#wh-state", "failed")
            if await row.count():
                break
            await asyncio.sleep(0.1)
            await p.select_option("#wh-state", "")
        await expect(row).to_have_count(1)
        await expect(row.locator(".chip")).to_have_text("Failed")
        await expect(row).to_contain_text("cannot connect")
        await row.locator("button.link").click()
        await expect(row.locator("pre.payload")).to_contain_text('"type": "ticket.created"')
        await rx.start()
        try:
            await row.locator("button[data-action=redeliver]").click()
            await h.hub.webhooks.drain()
            await p.select_option("#wh-state", "sent")
            await expect(p.locator(".webhook-log tbody tr[data-delivery] .chip")).to_have_text("Delivered")
            await p.reload()  # the endpoint's counts as a fresh look at the tab shows them
            await p.locator(".live.online").wait_for()
            await expect(p.locator("tr[data-endpoint=crm]")).to_contain_text("delivered 1")
            assert len(rx.accepted) == 1
        finally:
            await rx.stop()
        assert tab.unexpected(NO_CALLBACKS) == []
