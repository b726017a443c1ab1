"""Surveys by email and the contact form: a signed link (aiosmtpd receives the mail) to a no-JavaScript page in the
customer's language; the link works once, the answer can be changed from the thank-you page until the survey
expires, then nothing can; a forged link is refused; a bounced address gets no survey and the ticket says why."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import update

from hub.clock import FrozenClock
from hub.store.schema import identities
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.mailtest import Smtpd, email_channel, fixture, smtpd  # noqa: F401  (fixture)

START = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
PUBLIC = "https://help.example.com"


def config(db_url: str, dovecot: Dovecot, smtpd: Smtpd, **over: Any) -> Any:
    return hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}, server={"public_url": PUBLIC}, channels={"webchat": {"enabled": True}, "email": email_channel(dovecot, smtpd.port)}, **over)


async def resolve(h: RunningHub, headers: dict[str, str], tid: int) -> None:
    status, _ = await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "Sorted, thank you for waiting."})
    assert status == 201
    status, t = await h.api("POST", f"/api/tickets/{tid}/resolve", headers)
    assert status == 200, t


def survey_link(smtpd: Smtpd, n: int) -> tuple[str, str]:
    """(body text, path of the survey link) of the n-th mail."""
    body = smtpd.recorder.parsed(n).get_body(("plain",)).get_content()
    m = re.search(re.escape(PUBLIC) + r"(/survey/[A-Za-z0-9_.\-]+)", body)
    assert m, body
    return body, m.group(1)


async def page(h: RunningHub, method: str, path: str, **kw: Any) -> tuple[int, str, str | None]:
    async with h.session.request(method, f"{h.url}{path}", allow_redirects=False, **kw) as r:
        return r.status, await r.text(), r.headers.get("Location")


async def test_contact_form_link_single_use_change_and_expiry(db_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    clock = FrozenClock(START)
    async with running_hub(config(db_url, dovecot, smtpd), clock=clock) as h:
        await h.add_agent("sup@example.com", "supervisor", departments=["support"])
        headers = await h.agent("agent@example.com", departments=["support"])
        status, body = await h.api("POST", "/contact", json={"name": "Mali", "email": "mali@example.org",
                                                              "message": "The invoice total is wrong <script>x</script>"})
        assert status == 201
        tid = body["ticket_id"]
        await resolve(h, headers, tid)
        await smtpd.recorder.wait(1)
        clock.advance(hours=1, minutes=1)
        await h.hub.surveys.tick()
        await smtpd.recorder.wait(2)
        text, path = survey_link(smtpd, 1)
        assert "How satisfied" in text and smtpd.recorder.messages[1][1] == ["mali@example.org"]
        assert smtpd.recorder.parsed(1)["Auto-Submitted"] == "auto-replied"
        # The page: plain HTML, no script, the subject escaped, five scores.
        status, html, _ = await page(h, "GET", path)
        assert status == 200 and "<script" not in html.replace("&lt;script", "")
        assert 'name="viewport"' in html and html.count('name="score"') == 5 and 'lang="en"' in html
        assert "&lt;script&gt;" in html
        # No score: the form again, naming the problem, and nothing stored.
        status, html, _ = await page(h, "POST", path, data={"comment": "hm"})
        assert status == 422 and "pick a score" in html
        status, _, location = await page(h, "POST", path, data={"score": "2", "comment": "Took a week <b>to fix</b>"})
        assert status == 303 and location and location.startswith("/survey/") and location.split("?")[0] != path
        await h.hub.surveys.drain()
        # The mailed link is used up; the thank-you page's link changes the answer.
        status, html, _ = await page(h, "GET", path)
        assert status == 410 and "already used" in html
        status, html, _ = await page(h, "GET", location)
        assert status == 200 and 'value="2" checked' in html and "Took a week &lt;b&gt;to fix&lt;/b&gt;" in html
        status, _, location2 = await page(h, "POST", location.split("?")[0], data={"score": "4", "comment": "Took a week"})
        assert status == 303
        await h.hub.surveys.drain()
        _, res = await h.api("GET", f"/api/tickets/{tid}/surveys", headers)
        [s] = res["items"]
        assert (s["score"], s["answers"], s["via"], s["channel"]) == (4, 2, "email", "email")
        assert s["complaint_ticket_id"] is not None  # the first answer was low: one complaint, not undone by a change
        # A forged token (signature changed) is refused.
        forged = location2.split("?")[0][:-4] + "0000"
        assert (await page(h, "GET", forged))[0] == 410
        # After the window nothing can be changed.
        clock.advance(days=3, minutes=1)
        status, html, _ = await page(h, "POST", location2.split("?")[0], data={"score": "5"})
        assert status == 410
        _, res = await h.api("GET", f"/api/tickets/{tid}/surveys", await h.login("agent@example.com"))
        assert res["items"][0]["score"] == 4


async def test_persian_mail_gets_a_right_to_left_page_with_persian_digits(db_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    clock = FrozenClock(START)
    async with running_hub(config(db_url, dovecot, smtpd, surveys={"nps": True}), clock=clock) as h:
        headers = await h.agent("agent@example.com", departments=["support"])
        await dovecot.append(fixture("persian_utf8.eml"))

        async def one() -> bool:
            _, page_ = await h.api("GET", "/api/tickets?channel=email", headers)
            return bool(page_["items"])

        await wait_until(one)
        _, lst = await h.api("GET", "/api/tickets?channel=email", headers)
        tid = lst["items"][0]["id"]
        await resolve(h, headers, tid)
        await smtpd.recorder.wait(1)
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        await smtpd.recorder.wait(2)
        text, path = survey_link(smtpd, 1)
        assert "راضی" in text
        status, html, _ = await page(h, "GET", path)
        assert status == 200 and 'lang="fa" dir="rtl"' in html
        assert "<span>۵</span>" in html and "<span>۱۰</span>" in html and html.count('name="nps"') == 11
        status, _, _ = await page(h, "POST", path, data={"score": "5", "nps": "9"})
        assert status == 303
        _, res = await h.api("GET", f"/api/tickets/{tid}/surveys", headers)
        assert (res["items"][0]["score"], res["items"][0]["nps"], res["summary"]["nps"]) == (5, 9, 100.0)


async def test_a_bounced_address_gets_no_survey_and_the_ticket_says_why(db_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    clock = FrozenClock(START)
    async with running_hub(config(db_url, dovecot, smtpd), clock=clock) as h:
        headers = await h.agent("agent@example.com", departments=["support"])
        status, body = await h.api("POST", "/contact", json={"email": "gone@example.org", "message": "Where is my refund"})
        tid = body["ticket_id"]
        await resolve(h, headers, tid)
        await smtpd.recorder.wait(1)
        async with h.hub.db.write() as conn:  # what a bounce of the reply records
            await conn.execute(update(identities).where(identities.c.external_id == "gone@example.org")
                               .values(unreachable="550 5.1.1 mailbox unavailable"))
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        _, res = await h.api("GET", f"/api/tickets/{tid}/surveys", headers)
        [s] = res["items"]
        assert s["state"] == "not_sent" and "cannot be reached on email" in s["reason"] and "550" in s["reason"]
        _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
        assert any(x["what"] == "survey" and "none sent" in x["why"] for x in t["trace"])
        assert len(smtpd.recorder.messages) == 1
