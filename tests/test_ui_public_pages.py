"""/contact, /callback and the manage page as a customer meets them in Chromium: in English, Thai or Persian
(?lang=, the form's own language, then Accept-Language), right-to-left for Persian, usable on a 390 px phone,
with plain wording for every mistake; after hours the booking moves to the next day with free times."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import aiohttp

from hub.clock import FrozenClock
from tests.browser import PHONE, browser, hub_for, open_page  # noqa: F401  (browser is a fixture)
from tests.test_callbacks_helpers import callback_config

MONDAY_8PM_BKK = datetime(2027, 3, 1, 13, 0, tzinfo=timezone.utc)  # after hours: the team is back Tuesday 09:00


async def _no_sideways_scroll(page: Any) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


async def test_callback_after_hours_in_thai_on_a_phone(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, callback_config(sqlite_url), clock=FrozenClock(MONDAY_8PM_BKK)) as h:
        tab = await open_page(browser, h.url + "/callback?lang=th", viewport=PHONE)
        p = tab.page
        assert await p.get_attribute("html", "lang") == "th" and await p.get_attribute("html", "dir") == "ltr"
        # Monday evening: the page moved on to Tuesday, and says so.
        assert "วันจันทร์ที่ 1 มีนาคม 2570 ไม่มีเวลาว่าง" in await p.locator(".note").text_content()
        assert await p.locator("h2").first.text_content() == "วันอังคารที่ 2 มีนาคม 2570"
        assert await p.input_value("input[name=date]") == "2027-03-02"
        # The zone is a choice among real zones.
        assert await p.locator("select[name=tz] option").count() > 300
        assert await p.locator("select[name=tz]").input_value() == "Asia/Bangkok"
        # Each radio sits on the line of its own time.
        first = p.locator("label.slot").first
        radio, time = await first.locator("input").bounding_box(), await first.locator("span").bounding_box()
        assert abs((radio["y"] + radio["height"] / 2) - (time["y"] + time["height"] / 2)) < 6
        assert radio["x"] + radio["width"] <= time["x"]
        await _no_sideways_scroll(p)
        await first.locator("input").check()
        await p.fill("input[name=name]", "สมชาย")
        await p.fill("input[name=phone]", "12345")
        await p.click("form[method=post] button[type=submit]")
        await p.locator(".error").wait_for()
        assert await p.locator(".error").text_content() == "กรุณากรอกหมายเลขโทรศัพท์พร้อมรหัสประเทศ เช่น +66 81 234 5678"
        assert await p.input_value("input[name=name]") == "สมชาย"  # what was typed stays
        await p.locator("label.slot input").first.check()
        await p.fill("input[name=phone]", "+66 81 234 5678")
        await p.click("form[method=post] button[type=submit]")
        await p.locator("h1", has_text="เราจะโทรหาคุณ").wait_for()
        link = p.locator("main a[href*='/callback/']")
        href = await link.get_attribute("href")
        assert href.startswith(h.url + "/callback/")  # absolute, clickable
        await link.click()
        await p.locator("h1", has_text="การโทรกลับของคุณ").wait_for()  # the manage page speaks the booking's language
        assert "จองแล้ว" in await p.locator("main").text_content()
        await p.click("text=ยกเลิกการโทร")
        await p.locator(".note", has_text="ยกเลิกการโทรกลับแล้ว").wait_for()
        await _no_sideways_scroll(p)
        assert tab.unexpected("status of 422") == []  # the refused phone number, answered with the form again


async def test_persian_from_accept_language_right_to_left(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, callback_config(sqlite_url), clock=FrozenClock(MONDAY_8PM_BKK)) as h:
        tab = await open_page(browser, h.url + "/contact", locale="fa-IR", viewport=PHONE)
        p = tab.page
        assert await p.get_attribute("html", "dir") == "rtl" and await p.get_attribute("html", "lang") == "fa"
        assert await p.locator("h1").text_content() == "تماس با ما"
        # Right to left: the heading starts at the right edge of the page.
        box = await p.locator("h1").bounding_box()
        assert box["x"] + box["width"] > PHONE["width"] - 40
        await p.fill("input[name=email]", "x@y")  # the browser accepts it, the server does not
        await p.fill("textarea[name=message]", "سلام")
        await p.click("button[type=submit]")
        await p.locator(".error").wait_for()
        assert "لطفاً نشانی ایمیل خود را وارد کنید" in await p.locator(".error").text_content()
        await _no_sideways_scroll(p)
        # The callback page in Persian: Solar Hijri day in Persian digits.
        await p.goto(h.url + "/callback")
        assert await p.locator("h2").first.text_content() == "سه‌شنبه ۱۱ اسفند ۱۴۰۵"
        assert "۰۹:۰۰" in await p.locator("label.slot").first.text_content()
        # ?lang= wins over Accept-Language; the language links keep the page.
        await p.click("nav.langs a[hreflang=en]")
        assert await p.get_attribute("html", "dir") == "ltr" and await p.locator("h1").text_content() == "Ask us to call you"
        assert tab.unexpected("status of 422") == []


async def test_errors_are_pages_in_the_customers_language_never_raw_json(sqlite_url: str) -> None:
    from tests.hubtest import running_hub

    async with running_hub(callback_config(sqlite_url, server={"max_body": 4096})) as h:
        th = {"Accept-Language": "th-TH,th;q=0.9,en;q=0.5"}
        async with h.session.post(f"{h.url}/contact", data={"email": "a@b.co", "message": "x" * 8000}, headers=th) as r:
            body = await r.text()
            assert r.status == 413 and r.content_type == "text/html"
            assert "ข้อมูลที่ส่งมายาวเกินไป" in body and '<html lang="th"' in body and '{"error"' not in body
        async with h.session.post(f"{h.url}/callback?lang=fa", data={"name": "x" * 8000}) as r:
            assert r.status == 413 and r.content_type == "text/html" and 'dir="rtl"' in await r.text()
        # A bad manage link: a page in the asked language.
        async with h.session.get(f"{h.url}/callback/99?t=nope&lang=th") as r:
            assert r.status == 404 and "ลิงก์นี้ใช้ไม่ได้" in await r.text()
        # The JSON API used by the widget keeps its contract and adds the wording for the customer.
        async with h.session.post(f"{h.url}/api/callbacks", json={"name": "A", "phone": "12", "tz": "Asia/Bangkok",
                                                                  "slot": "2027-03-02T09:00:00+07:00", "lang": "fa"}) as r:
            err = (await r.json())["error"]
            assert r.status == 422 and err["field"] == "phone" and err["code"] == "invalid"
            assert "phone" in err["detail"] and err["message"].startswith("لطفاً شماره تلفن را همراه با کد کشور")
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{h.url}/api/callbacks/slots?date=2027-03-01&tz=Mars/Olympus", headers=th) as r:
                err = (await r.json())["error"]
                assert r.status == 422 and err["field"] == "tz" and err["message"] == "กรุณาเลือกเขตเวลาของคุณจากรายการ"


async def test_widget_callback_form_moves_to_the_next_day_with_free_times(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, callback_config(sqlite_url), clock=FrozenClock(MONDAY_8PM_BKK)) as h:
        tab = await open_page(browser, h.url + "/chat", viewport=PHONE)
        p = tab.page
        await p.locator(".status.online").wait_for()
        await p.click("button.callback")
        await p.locator(".callback-form .note").wait_for()
        assert await p.input_value("#hubchat-date") == "2027-03-02"
        assert "Tuesday" in await p.locator(".callback-form .note").text_content()
        assert await p.locator("#hubchat-slot option:not([disabled])").count() > 0
        assert tab.unexpected() == []
