"""The contact form on a hub whose email channel is off (the default): the form promises no email answer, the
ticket says so before an agent writes, and a reply that failed is sent once the channel is switched on."""
from __future__ import annotations

import asyncio

from tests.dovecot import Dovecot, dovecot  # noqa: F401  (fixture)
from tests.hubtest import hub_config, running_hub
from tests.mailtest import Smtpd, email_channel, smtpd  # noqa: F401  (fixture)


async def test_no_false_promise_then_the_failed_reply_is_sent_when_email_is_on(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    async with running_hub(hub_config(sqlite_url)) as h:
        assert "email" not in h.hub.channels
        status, form = await h.api("GET", "/contact?lang=fa")
        assert status == 200 and "ایمیل" in form and "فعلاً امکان فرستادن پاسخ با ایمیل" in form
        status, done = await h.api("POST", "/contact", data={"email": "nok@example.com", "message": "My parcel is late", "lang": "en"})
        assert status == 201 and "will answer by email" not in done and "use the chat" in done
        headers = await h.agent("a@example.com")
        _, tickets = await h.api("GET", "/api/tickets", headers)
        tid = tickets["items"][0]["id"]
        _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
        assert t["channel"] == "email" and t["channel_enabled"] is False
        await h.api("POST", f"/api/tickets/{tid}/claim", headers)
        status, reply = await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "It ships today."})
        assert status in (200, 201), reply
        await h.settle()
        _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
        [out] = [m for m in t["messages"] if m["author"] == "agent"]
        assert out["delivery"] == "failed"
        status, err = await h.api("POST", f"/api/tickets/{tid}/messages/{out['id']}/resend", headers)
        assert status == 409 and "channels.email.enabled" in err["error"]["detail"]

    on = hub_config(sqlite_url, channels={"webchat": {"enabled": True}, "email": email_channel(dovecot, smtpd.port)})
    async with running_hub(on) as h:
        headers = await h.login("a@example.com")
        _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
        assert t["channel_enabled"] is True
        status, body = await h.api("POST", f"/api/tickets/{tid}/messages/{out['id']}/resend", headers)
        assert status == 202 and body["delivery"] == "pending"
        again = await h.api("POST", f"/api/tickets/{tid}/messages/{out['id']}/resend", headers)
        assert again[0] == 409  # a second click sends nothing more
        for _ in range(100):
            await h.settle()
            if smtpd.recorder.messages:
                break
            await asyncio.sleep(0.05)
        assert len(smtpd.recorder.messages) == 1
        assert "It ships today." in str(smtpd.recorder.messages[0])
        _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
        assert [m["delivery"] for m in t["messages"] if m["author"] == "agent"] == ["sent"]
