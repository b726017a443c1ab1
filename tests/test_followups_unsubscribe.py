"""List-Unsubscribe on win-back and follow-up mails (RFC 2369, RFC 8058 one-click), against aiosmtpd and Dovecot:
the headers point at a signed link on server.public_url and at the hub's own address; the link's page (en, th,
fa right to left, no JavaScript) unsubscribes only on POST; an opted-out customer gets no more win-back or
follow-up messages, while an agent's reply on their ticket still goes out; a mail to the mailto does the same."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from hub.clock import FrozenClock
from hub.store.schema import customers, tickets
from hub.surveys import optout
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, running_hub
from tests.mailtest import Smtpd, fixture, smtpd  # noqa: F401  (fixture)
from tests.test_surveys_links import PUBLIC, START, config, page, resolve, survey_link

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


async def mail_ticket(h: RunningHub, dovecot: Dovecot, headers: dict[str, str], name: str) -> dict[str, Any]:
    """The ticket a fixture mail opens (the contact form's tickets are on the email channel too)."""
    _, lst = await h.api("GET", "/api/tickets?channel=email", headers)
    known = {i["id"] for i in lst["items"]}
    await dovecot.append(fixture(name))

    async def one() -> Any:
        _, lst = await h.api("GET", "/api/tickets?channel=email", headers)
        return [i for i in lst["items"] if i["id"] not in known] or None

    return (await wait_until(one))[0]


async def unsubscribed_at(h: RunningHub, cid: int) -> Any:
    async with h.hub.db.read() as conn:
        return (await conn.execute(select(customers.c.unsubscribed_at).where(customers.c.id == cid))).scalar_one()


async def test_winback_mail_unsubscribe_link_and_later_winback_skips(db_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    clock = FrozenClock(START)
    async with running_hub(config(db_url, dovecot, smtpd), clock=clock) as h:
        await h.add_agent("sup@example.com", "supervisor", departments=["support"])
        a = await h.agent("agent@example.com", departments=["support"])
        t = await mail_ticket(h, dovecot, a, "persian_utf8.eml")
        tid, cid = t["id"], t["customer_id"]
        await resolve(h, a, tid)
        await smtpd.recorder.wait(1)
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        await smtpd.recorder.wait(2)
        _, path = survey_link(smtpd, 1)
        assert (await page(h, "POST", path, data={"score": "1"}))[0] == 303  # a low score: on the win-back list later
        await h.hub.surveys.drain()
        clock.advance(days=31)
        sup, a = await h.login("sup@example.com"), await h.login("agent@example.com")  # sessions expired meanwhile
        _, lst = await h.api("GET", "/api/winback?days=30", sup)
        assert cid in [i["customer_id"] for i in lst["items"]]
        status, f = await h.api("POST", "/api/winback", sup, json={"customer_id": cid, "mode": "message",
                                                                  "text": "از تجربهٔ قبلی متأسفیم: ۲۰٪ تخفیف برای سفارش بعدی."})
        assert status == 201, f
        # An agent's follow-up message planned for later, before the customer opts out: it must not go out.
        status, later = await h.api("POST", f"/api/tickets/{tid}/followups", a, json={
            "mode": "message", "text": "How is everything going?", "at": (clock.now() + timedelta(days=10)).isoformat()})
        assert status == 201, later
        clock.at = datetime.fromisoformat(f["due_at"])
        await h.hub.surveys.tick()
        await smtpd.recorder.wait(3)
        a = await h.login("agent@example.com")
        mail = smtpd.recorder.parsed(2)
        assert "۲۰٪" in mail.get_body(("plain",)).get_content()
        header = " ".join(str(mail["List-Unsubscribe"]).split())
        m = re.fullmatch(r"<" + re.escape(PUBLIC) + r"/u/([0-9]+\.[0-9a-f]{32})>, <mailto:support@example\.com\?subject=unsubscribe%20\1>", header)
        assert m, header
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = m.group(1)
        assert smtpd.recorder.parsed(0)["List-Unsubscribe"] is None  # the agent's reply is no follow-up

        # The page: Persian, right to left, one button, no script; opening it changes nothing.
        status, html, _ = await page(h, "GET", f"/u/{token}")
        assert status == 200 and 'lang="fa" dir="rtl"' in html and "<script" not in html
        assert 'method="post"' in html and "لغو اشتراک" in html
        assert await unsubscribed_at(h, cid) is None
        forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        assert (await page(h, "POST", f"/u/{forged}", data=ONE_CLICK))[0] == 404
        assert (await page(h, "GET", "/u/<script>"))[0] == 404
        assert await unsubscribed_at(h, cid) is None
        # The mail client's one-click POST (RFC 8058); a second one changes nothing.
        status, html, _ = await page(h, "POST", f"/u/{token}", data=ONE_CLICK)
        assert status == 200 and "اشتراک شما لغو شد" in html
        at = await unsubscribed_at(h, cid)
        assert at is not None
        assert (await page(h, "POST", f"/u/{token}", data=ONE_CLICK))[0] == 200 and await unsubscribed_at(h, cid) == at
        _, c = await h.api("GET", f"/api/customers/{cid}", a)
        assert c["unsubscribed_at"] == at.isoformat()
        _, fs = await h.api("GET", f"/api/tickets/{tid}/followups", a)
        assert [x["state"] for x in fs["items"] if x["id"] == later["id"]] == ["cancelled"]

        # A reply on the customer's own ticket still goes out.
        assert (await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "پاسخ شما"}))[0] == 201
        await smtpd.recorder.wait(4)
        sent = len(smtpd.recorder.messages)
        # A later win-back skips the customer; a follow-up message planned anyway is not sent, on any channel.
        clock.advance(days=40)
        sup, a = await h.login("sup@example.com"), await h.login("agent@example.com")
        _, lst = await h.api("GET", "/api/winback?days=30", sup)
        assert cid not in [i["customer_id"] for i in lst["items"]]
        assert (await h.api("POST", "/api/winback", sup, json={"customer_id": cid, "mode": "message", "text": "again"}))[0] == 409
        status, again = await h.api("POST", f"/api/tickets/{tid}/followups", a, json={"mode": "message", "text": "Hello again"})
        assert status == 201
        clock.at = datetime.fromisoformat(again["due_at"])
        await h.hub.surveys.tick()
        await h.settle()
        _, fs = await h.api("GET", f"/api/tickets/{tid}/followups", a)
        [x] = [x for x in fs["items"] if x["id"] == again["id"]]
        assert x["state"] == "not_sent" and "unsubscribed" in x["reason"]
        assert len(smtpd.recorder.messages) == sent


async def test_page_languages_and_the_mailto(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    clock = FrozenClock(START)
    async with running_hub(config(sqlite_url, dovecot, smtpd), clock=clock) as h:
        a = await h.agent("agent@example.com", departments=["support"])
        signer = await h.hub.surveys.signer()
        for lang, text, word in (("en", "Where is my parcel, it is late", "Unsubscribe"),
                                 ("th", "พัสดุของฉันอยู่ที่ไหนคะ ส่งช้ามาก", "ยกเลิกการรับข้อความ")):
            status, body = await h.api("POST", "/contact", json={"name": "N", "email": f"{lang}@example.org", "message": text, "lang": lang})
            assert status == 201, body
            _, tk = await h.api("GET", f"/api/tickets/{body['ticket_id']}", a)
            status, html, _ = await page(h, "GET", f"/u/{optout.token(signer, tk['customer_id'])}")
            assert status == 200 and f'lang="{lang}"' in html and 'dir="rtl"' not in html and word in html, html

        # A Thai mail customer writes "unsubscribe TOKEN" to the mailto address: no new ticket, the opt-out stored.
        t = await mail_ticket(h, dovecot, a, "thai_utf8.eml")
        token = optout.token(signer, t["customer_id"])
        raw = (f"From: Somying <somying@example.co.th>\r\nTo: support@example.com\r\nSubject: unsubscribe {token}\r\n"
               "Message-ID: <unsub-1@example.co.th>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0700\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n\r\n\r\n").encode()
        async with h.hub.db.read() as conn:
            before = (await conn.execute(select(func.count()).select_from(tickets))).scalar_one()
        await dovecot.append(raw)

        async def opted_out() -> Any:
            return await unsubscribed_at(h, t["customer_id"])

        await wait_until(opted_out)
        async with h.hub.db.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(tickets))).scalar_one() == before
        _, x = await h.api("GET", f"/api/tickets/{t['id']}", a)
        assert x["status"] == t["status"] and len(x["messages"]) == 2  # kept on the ticket, which it did not move
        assert any(tr["what"] == "unsubscribed" and "mail" in tr["why"] for tr in x["trace"])
        # A token with its signature altered names nobody.
        assert optout.customer_of(signer, token[:-1] + ("0" if token[-1] != "0" else "1")) is None
