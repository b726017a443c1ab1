"""End to end by email: a complaint resolved with a fix gets its check-in mail ("is it still working?", aiosmtpd
receives it) and the customer's answer, a real reply through Dovecot with the check-in quoted below it, confirms
the fix or reopens the complaint, and the customer is told which, by mail, in their language.  An out-of-office
reply to the check-in is not taken for an answer and does not keep the real answer from counting."""
from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from hub.clock import FrozenClock
from hub.surveys.texts import yes_no
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, running_hub
from tests.mailtest import Smtpd, smtpd  # noqa: F401  (fixture)
from tests.test_surveys_links import config

MONDAY_10_BKK = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)


def mail(sender: str, subject: str, body: str, *, reply_to: str | None = None, auto: bool = False) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Support <support@example.com>"
    m["Subject"] = subject
    m["Date"] = "Thu, 05 Mar 2026 10:00:00 +0700"
    m["Message-ID"] = make_msgid(domain="customer.example")
    if reply_to:
        m["In-Reply-To"] = reply_to
        m["References"] = reply_to
    if auto:
        m["Auto-Submitted"] = "auto-replied"
    m.set_content(body)
    return m.as_bytes()


async def ticket_of(h: RunningHub, dovecot: Dovecot, a: dict[str, str], sender: str, subject: str, body: str) -> dict[str, Any]:
    _, lst = await h.api("GET", "/api/tickets?channel=email", a)
    known = {i["id"] for i in lst["items"]}
    await dovecot.append(mail(sender, subject, body))

    async def new() -> Any:
        _, lst = await h.api("GET", "/api/tickets?channel=email", a)
        return [i for i in lst["items"] if i["id"] not in known] or None

    return (await wait_until(new))[0]


async def fixed_complaint(h: RunningHub, a: dict[str, str], tid: int) -> None:
    assert (await h.api("POST", f"/api/tickets/{tid}/kind", a, json={"kind": "complaint"}))[0] == 200
    assert (await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "We replaced the part."}))[0] == 201
    status, t = await h.api("POST", f"/api/tickets/{tid}/resolve", a, json={"fixed": True})
    assert status == 200 and t["status"] == "resolved", t


def mails_to(smtpd: Smtpd, address: str) -> list[Any]:
    return [smtpd.recorder.parsed(i) for i, m in enumerate(smtpd.recorder.messages) if m[1] == [address]]


def text_of(m: Any) -> str:
    return m.get_body(("plain",)).get_content()


async def test_checkin_answers_by_email_confirm_or_reopen(db_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    clock = FrozenClock(MONDAY_10_BKK)
    cases = [  # (address, language, first mail, the answer, fixed?, the check-in's word, the reply's word)
        ("alice@example.org", "en", "The heater broke again and the room is cold.",
         "Yes, all good now, thank you!", True, "still working", "Great to hear"),
        ("somying@example.co.th", "th", "เครื่องทำน้ำอุ่นเสียอีกแล้วค่ะ ใช้งานไม่ได้เลย",
         "ใช่ ใช้งานได้ดีแล้วค่ะ", True, "ยังใช้งานได้ดีไหม", "ขอบคุณ"),
        ("maryam@example.ir", "fa", "بخاری دوباره خراب شده و خانه سرد است.",
         "نه، هنوز خراب است و صدا می‌دهد.", False, "هنوز درست کار می‌کند", "دوباره"),
    ]
    async with running_hub(config(db_url, dovecot, smtpd), clock=clock) as h:
        a = await h.agent("agent@example.com", departments=["support"])
        tickets: dict[str, dict[str, Any]] = {}
        for address, _, first, *_ in cases:
            t = await ticket_of(h, dovecot, a, address, "Heater / เครื่องทำน้ำอุ่น / بخاری", first)
            await fixed_complaint(h, a, t["id"])
            tickets[address] = t
        await h.settle()
        clock.advance(days=3)  # Thursday 10:00 in Bangkok: the check-ins fall due inside open hours
        a = await h.login("agent@example.com")
        await h.hub.surveys.tick()
        await h.settle()

        asked: dict[str, Any] = {}
        for address, lang, _, _, _, word, _ in cases:
            async def checkin() -> Any:
                return [m for m in mails_to(smtpd, address) if word in text_of(m)] or None

            [asked[address]] = await wait_until(checkin)
            _, fs = await h.api("GET", f"/api/tickets/{tickets[address]['id']}/followups", a)
            assert [(f["source"], f["state"]) for f in fs["items"]] == [("checkin", "sent")]

        # Persian: an out-of-office answers the check-in first; it is no answer.
        maryam = "maryam@example.ir"
        await dovecot.append(mail(maryam, "Automatic reply: " + str(asked[maryam]["Subject"]), "I am away until Monday.",
                                  reply_to=asked[maryam]["Message-ID"], auto=True))

        async def ooo_stored() -> bool:
            _, t = await h.api("GET", f"/api/tickets/{tickets[maryam]['id']}", a)
            return any("away until Monday" in m["text"] for m in t["messages"])

        await wait_until(ooo_stored)
        _, fs = await h.api("GET", f"/api/tickets/{tickets[maryam]['id']}/followups", a)
        assert fs["items"][0]["state"] == "sent"

        for address, lang, _, answer, fixed, word, reply_word in cases:
            quoted = "\n".join("> " + line for line in text_of(asked[address]).splitlines())
            await dovecot.append(mail(address, "Re: " + str(asked[address]["Subject"]),
                                      f"{answer}\n\nOn Thu, Mar 5, 2026 Support <support@example.com> wrote:\n{quoted}\n",
                                      reply_to=asked[address]["Message-ID"]))
        for address, lang, _, answer, fixed, word, reply_word in cases:
            tid = tickets[address]["id"]

            async def answered() -> Any:
                _, fs = await h.api("GET", f"/api/tickets/{tid}/followups", a)
                return fs["items"][0] if fs["items"][0]["state"] == "answered" else None

            f = await wait_until(answered)
            assert f["outcome"] == ("confirmed" if fixed else "reopened"), (address, f)
            _, t = await h.api("GET", f"/api/tickets/{tid}", a)
            assert t["status"] == ("resolved" if fixed else "assigned"), (address, t["status"])
            assert t["kind"] == "complaint"
            assert any(("confirmed the fix" if fixed else "not fixed") in x["why"] for x in t["trace"]), address

            async def told() -> Any:
                return [m for m in mails_to(smtpd, address) if reply_word in text_of(m) and word not in text_of(m)] or None

            await wait_until(told)
        # No answer opened a ticket of its own.
        _, lst = await h.api("GET", "/api/tickets?channel=email", a)
        assert sorted(i["id"] for i in lst["items"]) == sorted(t["id"] for t in tickets.values())


@pytest.mark.parametrize("text, fine", [
    ("Yes, all good now, thank you!", True),  # "no" is not in "now"
    ("Yes, still working", True), ("still not working", False), ("No, still a problem", False),
    ("It broke again", False), ("now it works", True), ("hello", None),
    ("ใช่ ใช้งานได้ดีแล้วค่ะ", True), ("ยังใช้ได้ดีค่ะ", True), ("ยังใช้งานได้ไม่ดี", False), ("ไม่มีปัญหาค่ะ", True),
    ("ไม่ ยังมีปัญหา", False),
    ("نه، هنوز خراب است و صدا می‌دهد.", False), ("بله، همه‌چیز خوب است", True), ("مشکلی نیست", True),
    ("خانه گرم است", None),  # نه (no) inside خانه (house) is no answer
])
def test_short_answers_in_three_languages(text: str, fine: bool | None) -> None:
    assert yes_no(text) is fine
