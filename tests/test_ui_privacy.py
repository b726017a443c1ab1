"""The console's data-rights and audit views in a real browser: an admin exports and erases a customer from the
ticket's customer panel and reads, filters and downloads the audit log; a supervisor sees neither; Persian and Thai
labels."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.browser import browser, console_login, hub_for  # noqa: F401  (browser is a fixture)
from tests.hubtest import RunningHub, hub_config

NO_CALLBACKS = "/api/callbacks"  # these hubs run without the callback channel: the console's probe gets a 404


async def _customer_ticket(h: RunningHub) -> int:
    chat = await h.chat(name="Kanya <b>K</b>")
    await chat.say("ช่วยลบข้อมูลของดิฉันด้วยค่ะ")
    await h.settle()
    await chat.close()
    _, page = await h.api("GET", "/api/tickets", await h.login("root@example.com"))
    return int(page["items"][0]["id"])


async def test_admin_exports_and_erases_a_customer_then_finds_it_in_the_audit_log(browser: Any, sqlite_url: str, tmp_path: Path) -> None:  # noqa: F811
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("root@example.com", name="Root", role="admin")
        await h.add_agent("sup@example.com", name="Sup", role="supervisor")
        tid = await _customer_ticket(h)
        admin = await console_login(browser, h, "root@example.com")
        p = admin.page
        await p.goto(h.url + f"/console#/ticket/{tid}")
        panel = p.locator("aside.customer")
        await expect(panel.locator("#export-customer")).to_be_visible()

        async with p.expect_download() as info:
            await panel.locator("#export-customer").click()
        download = await info.value
        saved = tmp_path / "export.zip"
        await download.save_as(saved)
        z = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
        assert "customer.json" in z.namelist() and "ช่วยลบข้อมูลของดิฉันด้วยค่ะ" in z.read(f"tickets/{tid}.json").decode()

        # Erasing needs the customer's number typed in; the button stays disabled until it matches.
        await panel.locator("#erase-customer").click()
        erase = panel.locator(".erase-form button[type=submit]")
        await expect(erase).to_be_disabled()
        await p.fill("#erase-confirm", "999")
        await expect(erase).to_be_disabled()
        _, t = await h.api("GET", f"/api/tickets/{tid}", await h.login("root@example.com"))
        await p.fill("#erase-confirm", str(t["customer_id"]))
        await erase.click()
        await expect(panel.locator(".privacy")).to_contain_text("Erased on")
        await expect(p.locator(".msg", has_text="ช่วยลบข้อมูล")).to_have_count(0)

        # The audit tab: both actions, filtered, and the CSV.
        await p.click("a.tab[href='#/audit']")
        view = p.locator("section.audit")
        await expect(view.locator("tr[data-action='customer.erase']")).to_have_count(1)
        await expect(view.locator("tr[data-action='customer.export']")).to_have_count(1)
        await p.select_option("#audit-action", "customer.erase")
        await view.locator("button[type=submit]").click()
        await expect(view.locator("tbody tr")).to_have_count(1)
        await expect(view.locator("tbody tr")).to_contain_text("Root")
        async with p.expect_download() as info:
            await p.click("#audit-csv")
        csv_text = Path(await (await info.value).path()).read_text(encoding="utf-8")
        assert csv_text.splitlines()[0].startswith("id,at,actor_id") and "customer.erase" in csv_text
        assert "customer.export" not in csv_text  # the filter applies to the download too
        assert not admin.unexpected(NO_CALLBACKS)

        # A supervisor has neither the tab nor the buttons.
        sup = await console_login(browser, h, "sup@example.com")
        await sup.page.goto(h.url + f"/console#/ticket/{tid}")
        await expect(sup.page.locator("aside.customer h3").first).to_be_visible()
        assert await sup.page.locator("a.tab[href='#/audit']").count() == 0
        assert await sup.page.locator("#erase-customer").count() == 0


async def test_audit_view_speaks_persian_and_thai(browser: Any, sqlite_url: str) -> None:  # noqa: F811
    async with hub_for(browser, hub_config(sqlite_url)) as h:
        await h.add_agent("root@example.com", name="ریشه", role="admin")
        for lang, tab_label, empty in (("fa", "گزارش رویدادها", "موردی یافت نشد."), ("th", "บันทึกการใช้งาน", "ไม่มีรายการที่ตรงกัน")):
            admin = await console_login(browser, h, "root@example.com", lang=lang)
            p = admin.page
            tab = p.locator("a.tab[href='#/audit']")
            await expect(tab).to_have_text(tab_label)
            await tab.click()
            await expect(p.locator("section.audit tr[data-action='auth.login']").first).to_be_visible()
            await p.fill("#audit-customer", "424242")
            await p.locator("section.audit button[type=submit]").click()
            await expect(p.locator("section.audit tbody")).to_contain_text(empty)
            if lang == "fa":
                assert await p.evaluate("document.documentElement.dir") == "rtl"
            assert not admin.unexpected(NO_CALLBACKS)
