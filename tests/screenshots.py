"""Takes the README screenshots: `python -m tests.screenshots [OUTDIR]` (default docs/screenshots).

A hub on a temporary SQLite file with the FAQ bot; a Thai customer asks the bot and then a person, a Persian and
an English customer wait in the queue, and an agent answers in the console.  Needs chromium on PATH."""
from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.async_api import async_playwright
from sqlalchemy import update

from hub.store.schema import tickets
from tests.browser import FLAGS, chromium_path
from tests.hubtest import hub_config, running_hub

ROOT = Path(__file__).resolve().parent.parent
DEPARTMENTS = [{"name": "support", "default": True, "label": {"th": "ฝ่ายบริการลูกค้า", "fa": "پشتیبانی"}},
               {"name": "billing", "label": {"th": "การเงิน", "fa": "امور مالی"}, "keywords": {"en": ["invoice", "charged"]}},
               {"name": "callbacks", "label": {"th": "โทรกลับ", "fa": "تماس برگشتی"}}]


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    exe = chromium_path()
    if exe is None:
        raise SystemExit("chromium is not on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        config = hub_config(f"sqlite+aiosqlite:///{tmp}/hub.db", bot={"enabled": True, "knowledge_base": str(ROOT / "faq.yaml")},
                            departments=DEPARTMENTS, channels={"webchat": {"enabled": True}, "callback": {"enabled": True}})
        async with running_hub(config) as h, async_playwright() as p:
            await h.add_agent("ana@example.com", name="Ana")
            await h.add_agent("bea@example.com", name="Bea")
            persian = await h.chat(lang="fa", name="مریم")
            await persian.say("سلام، سفارش ۴۵۲۱ من هنوز نرسیده. می‌خواهم با اپراتور صحبت کنم")
            english = await h.chat(lang="en", name="Tom")
            late = await english.say("I was charged twice for invoice 8812, I want to talk to a person")
            await h.settle()
            async with h.hub.db.write() as conn:
                await conn.execute(update(tickets).where(tickets.c.id == late["ticket_id"]).values(first_response_due=h.hub.clock.now() - timedelta(minutes=12)))

            browser = await p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
            ctx = await browser.new_context(locale="th-TH", timezone_id="Asia/Bangkok", viewport={"width": 1280, "height": 800})
            c = await ctx.new_page()
            await c.goto(h.url + "/chat")
            await c.locator(".status.online").wait_for()
            for text in ("ร้านเปิดกี่โมงคะ", "ขอคุยกับพนักงาน"):
                await c.fill("#hubchat-input", text)
                await c.press("#hubchat-input", "Enter")
                await c.locator(".msg.from-customer .state.delivered", has_text="").last.wait_for()
                await h.settle()
            await c.locator(".msg.from-bot").first.wait_for()

            actx = await browser.new_context(locale="en-US", timezone_id="Asia/Bangkok", viewport={"width": 1440, "height": 860})
            a = await actx.new_page()
            await a.goto(h.url + "/console")
            await a.fill("#login-email", "ana@example.com")
            await a.fill("#login-password", "secret-pass-1")
            await a.press("#login-password", "Enter")
            await a.locator(".ticket-list li").nth(2).wait_for()
            await a.locator(".ticket-list li a", has_text="ร้านเปิด").click()
            await a.click("button[data-action=claim]")
            await a.fill("#reply-text", "สวัสดีค่ะ ดิฉันแอนนา ยินดีช่วยเหลือค่ะ มีอะไรให้ช่วยเพิ่มเติมไหมคะ")
            await a.click("button.send-reply")
            await a.locator(".timeline .msg.from-agent .delivery.sent").wait_for()
            await a.fill("#reply-text", "@Bea customer prefers a phone call after 17:00")
            await a.click(".note-btn")
            await a.locator(".timeline .note").wait_for()
            await c.locator(".msg.from-agent").wait_for()
            await c.fill("#hubchat-input", "ขอบคุณค่ะ")
            await c.screenshot(path=str(out / "widget.png"))
            await a.screenshot(path=str(out / "console.png"))
            await ctx.close()
            await actx.close()
            # A colleague on a phone, in Persian, with the system in dark mode, opens a ticket from the queue.
            pctx = await browser.new_context(locale="fa-IR", timezone_id="Asia/Tehran", viewport={"width": 390, "height": 844},
                                             color_scheme="dark", device_scale_factor=2)
            m = await pctx.new_page()
            await m.goto(h.url + "/console")
            await m.select_option("#lang", "fa")
            await m.locator("html[lang=fa]").wait_for(state="attached")
            await m.fill("#login-email", "bea@example.com")
            await m.fill("#login-password", "secret-pass-1")
            await m.press("#login-password", "Enter")
            await m.locator(".mentions-toggle .badge:not([hidden])").wait_for()
            await m.locator(".ticket-list li a", has_text="سفارش").click()
            await m.locator(".timeline .msg").first.wait_for()
            await m.screenshot(path=str(out / "console-phone-ticket.png"))
            await pctx.close()
            # A Persian customer books a call back on a phone, without the widget: the page in Persian, right to left.
            cctx = await browser.new_context(locale="fa-IR", timezone_id="Asia/Tehran", viewport={"width": 390, "height": 844},
                                             device_scale_factor=2)
            cb = await cctx.new_page()
            await cb.goto(h.url + "/callback")
            await cb.locator("label.slot input:not([disabled])").first.check()
            await cb.fill("input[name=name]", "مریم")
            await cb.fill("input[name=phone]", "0912")
            await cb.click("form[method=post] button[type=submit]")
            await cb.locator(".error").wait_for()
            await cb.screenshot(path=str(out / "callback-phone-fa.png"), full_page=True)
            await cctx.close()
            await browser.close()
    print(f"wrote widget.png, console.png, console-phone-ticket.png and callback-phone-fa.png in {out}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
