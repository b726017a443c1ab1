"""Email end to end: a real Dovecot, a real aiosmtpd and the real hub with the email channel."""
from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from sqlalchemy import select, update

from hub.store.schema import identities, messages, tickets
from tests.dovecot import Dovecot, dovecot, private_root, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.mailtest import Smtpd, email_channel, fixture, smtpd  # noqa: F401  (fixture)


async def tickets_of(h: RunningHub, headers: dict[str, str]) -> list[dict[str, Any]]:
    status, page = await h.api("GET", "/api/tickets?channel=email&limit=100", headers)
    assert status == 200, page
    return page["items"]


async def ticket(h: RunningHub, headers: dict[str, str], tid: int) -> dict[str, Any]:
    status, body = await h.api("GET", f"/api/tickets/{tid}", headers)
    assert status == 200, body
    return body


async def count_messages(h: RunningHub) -> int:
    async with h.hub.db.read() as conn:
        return len((await conn.execute(select(messages.c.id).where(messages.c.channel == "email"))).all())


async def wait_messages(h: RunningHub, n: int) -> None:
    async def enough() -> bool:
        return await count_messages(h) >= n

    await wait_until(enough)


async def test_thai_mail_opens_ticket_reply_threads_and_answer_joins(db_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    cfg = hub_config(db_url, channels={"email": email_channel(dovecot, smtpd.port)})
    async with running_hub(cfg) as h:
        headers = await h.agent("nok@example.com", name="Nok")
        await dovecot.append(fixture("thai_tis620.eml"))
        await wait_messages(h, 1)
        [t] = await tickets_of(h, headers)
        assert t["subject"] == "สอบถามเรื่องการจัดส่งสินค้า" and t["channel"] == "email"
        full = await ticket(h, headers, t["id"])
        assert full["messages"][0]["text"].startswith("สวัสดีครับ ผมสั่งสินค้าไปเมื่อวาน")
        # \Seen only once the message is stored
        await wait_until(lambda: _seen(dovecot))
        status, _ = await h.api("POST", f"/api/tickets/{t['id']}/reply", headers, json={"text": "ได้รับเรื่องแล้วครับ <b>ไม่ใช่ HTML</b>"})
        assert status == 201
        await smtpd.recorder.wait(1)
        sent = smtpd.recorder.parsed()
        assert sent["In-Reply-To"] == "<th-tis620-1@example.co.th>"
        assert "<th-tis620-1@example.co.th>" in sent["References"]
        assert str(sent["Subject"]) == f"Re: สอบถามเรื่องการจัดส่งสินค้า [#{t['id']}]"
        assert b"=?utf-8?" in smtpd.recorder.messages[-1][2].split(b"\r\n\r\n", 1)[0]  # RFC 2047, not raw 8-bit
        assert parseaddr(str(sent["From"])) == ("Nok via Support", "support@example.com")
        assert sent["Message-ID"].endswith("@hub.example.com>") and sent["Auto-Submitted"] is None
        assert smtpd.recorder.messages[-1][1] == ["somchai@example.co.th"]
        plain = sent.get_body(("plain",)).get_content()
        html_part = sent.get_body(("html",)).get_content()
        assert "ได้รับเรื่องแล้วครับ <b>ไม่ใช่ HTML</b>" in plain and "&lt;b&gt;" in html_part and "<b>" not in html_part
        await h.settle()
        full = await ticket(h, headers, t["id"])
        assert full["messages"][-1]["delivery"] == "sent"
        # The customer answers from Gmail, quoting the hub's mail: it threads by In-Reply-To, quote stripped.
        hub_id = sent["Message-ID"]
        await dovecot.append(fixture("gmail_reply.eml", IN_REPLY_TO=hub_id, REFERENCES=f"<th-tis620-1@example.co.th> {hub_id}", TICKET="999999"))
        await wait_messages(h, 3)
        assert len(await tickets_of(h, headers)) == 1
        full = await ticket(h, headers, t["id"])
        assert full["messages"][-1]["text"] == "ยังไม่ได้รับของเลยครับ ช่วยเช็คอีกทีได้ไหม"
        assert any("replies to a message" in tr["why"] for tr in full["trace"])
        async with h.hub.db.read() as conn:
            raw = (await conn.execute(select(messages.c.raw).where(messages.c.provider_id == "<gmail-reply-1@mail.gmail.com>"))).scalar_one()
        assert "Your order has shipped." in raw["full_text"]


def _seen(d: Dovecot) -> Any:
    async def check() -> bool:
        flags = await d.flags()
        return bool(flags) and all("\\Seen" in f for f in flags.values())

    return check()


async def test_each_fixture_becomes_a_readable_ticket(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    cases = {
        "thai_utf8.eml": ("สอบถามเรื่องการจัดส่งสินค้า", "สวัสดีครับ ผมสั่งสินค้า"),
        "persian_cp1256.eml": ("پيگيري سفارش", "سلام، سفارش من هنوز نرسيده است"),
        "persian_utf8.eml": ("پیگیری سفارش", "سلام، سفارش من هنوز نرسیده است"),
        "no_charset.eml": ("no charset", "สวัสดีครับ ผมสั่งสินค้า"),
        "wrong_charset.eml": ("wrong charset", "سلام، سفارش من"),
        "unknown_charset.eml": ("สอบถามเรื่องการจัดส่งสินค้า", "สวัสดีครับ"),
        "html_only.eml": ("html only", "Hello,\nmy order #42 is late."),
        "outlook_reply.eml": ("RE: Refund [#0]", "I still have not received the refund.\n\nBest regards,\nJohn"),
        "apple_reply.eml": ("Re: สอบถามเรื่องการจัดส่งสินค้า", "ขอบคุณครับ ได้รับแล้ว"),
        "broken_boundary.eml": ("broken", "the text is still here"),
    }
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port)})
    async with running_hub(cfg) as h:
        headers = await h.agent()
        await dovecot.append(*(fixture(n, IN_REPLY_TO="<none@x>", REFERENCES="<none@x>", TICKET="0") for n in cases))
        await wait_messages(h, len(cases))
        got = {t["subject"]: t for t in await tickets_of(h, headers)}
        for name, (subject, text) in cases.items():
            assert subject in got, (name, list(got))
            body = (await ticket(h, headers, got[subject]["id"]))["messages"][0]["text"]
            assert text in body, (name, body)
            assert ">" not in body.split("\n")[0]


async def test_subject_token_threads_and_closed_ticket_gets_linked_follow_up(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port)})
    async with running_hub(cfg) as h:
        headers = await h.agent()
        await dovecot.append(fixture("persian_utf8.eml"))
        await wait_messages(h, 1)
        [t] = await tickets_of(h, headers)
        token_mail = (b"From: Maryam <maryam@example.ir>\r\nTo: support@example.com\r\nSubject: more info [#%d]\r\n"
                      b"Message-ID: <token-1@example.ir>\r\n\r\nshomare sefaresh 12345\r\n") % t["id"]
        await dovecot.append(token_mail)
        await wait_messages(h, 2)
        assert len(await tickets_of(h, headers)) == 1
        full = await ticket(h, headers, t["id"])
        assert any(f"quotes ticket #{t['id']}" in tr["why"] for tr in full["trace"])
        # Resolved: a new mail on the thread reopens it.
        assert (await h.api("POST", f"/api/tickets/{t['id']}/resolve", headers))[0] == 200
        await dovecot.append(token_mail.replace(b"token-1", b"token-2"))
        await wait_messages(h, 3)
        assert (await ticket(h, headers, t["id"]))["status"] in ("queued", "assigned")
        # Closed: a new, linked ticket.
        async with h.hub.db.write() as conn:
            await conn.execute(update(tickets).where(tickets.c.id == t["id"]).values(status="closed"))
        await dovecot.append(token_mail.replace(b"token-1", b"token-3"))
        await wait_messages(h, 4)
        ts = await tickets_of(h, headers)
        assert len(ts) == 2
        async with h.hub.db.read() as conn:
            parent = (await conn.execute(select(tickets.c.parent_id).where(tickets.c.id != t["id"]))).scalar_one()
        assert parent == t["id"]


async def test_restart_takes_only_new_mail_and_uidvalidity_change_makes_no_duplicates(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    await dovecot.create("Support")
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port, imap={"folder": "Support"})})
    first = [fixture("thai_utf8.eml"), fixture("persian_utf8.eml")]
    await dovecot.append(*first, folder="Support")
    async with running_hub(cfg) as h:
        await wait_messages(h, 2)
        checkpoints = h.hub.channels["email"]._ctx.checkpoints  # type: ignore[attr-defined]
        cursor = await wait_until(lambda: checkpoints.get("imap:support@example.com/Support"))
        assert cursor.endswith(":2")
    third = fixture("no_charset.eml")
    await dovecot.append(third, folder="Support")
    async with running_hub(cfg) as h:
        await wait_messages(h, 3)
        await h.hub.channels["email"].mailbox.ready.wait()  # type: ignore[attr-defined]
        assert await count_messages(h) == 3
    # The folder is recreated (new UIDVALIDITY) holding the same mails plus one: only the new one is added.
    await dovecot.delete("Support")
    await dovecot.create("Support")
    await dovecot.append(*first, third, fixture("thai_tis620.eml"), folder="Support")
    async with running_hub(cfg) as h:
        await wait_messages(h, 4)
        await h.hub.channels["email"].mailbox.ready.wait()  # type: ignore[attr-defined]
        headers = await h.agent()
        assert await count_messages(h) == 4 and len(await tickets_of(h, headers)) == 4


async def test_bounce_attaches_to_ticket_and_marks_address_failing(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port)})
    async with running_hub(cfg) as h:
        headers = await h.agent()
        await dovecot.append(b"From: Gone <gone@example.net>\r\nTo: support@example.com\r\nSubject: hello\r\n"
                             b"Message-ID: <gone-1@example.net>\r\n\r\nplease call me\r\n")
        await wait_messages(h, 1)
        [t] = await tickets_of(h, headers)
        await h.api("POST", f"/api/tickets/{t['id']}/reply", headers, json={"text": "we will"})
        await smtpd.recorder.wait(1)
        hub_id = smtpd.recorder.parsed()["Message-ID"]
        await dovecot.append(fixture("dsn_bounce.eml", ORIGINAL_ID=hub_id, TICKET=str(t["id"])))
        await wait_messages(h, 3)
        assert len(await tickets_of(h, headers)) == 1  # the bounce joined the ticket whose mail bounced
        async with h.hub.db.read() as conn:
            why = (await conn.execute(select(identities.c.unreachable).where(identities.c.external_id == "gone@example.net"))).scalar_one()
            meta = (await conn.execute(select(messages.c.meta).where(messages.c.provider_id == "<bounce-1@mx.example.com>"))).scalar_one()
        assert why and "5.1.1" in why and meta["flags"] == ["bounce"]


async def test_no_automatic_mail_to_auto_replies_and_cap_per_hour(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port, auto_reply_cap_per_hour=2)})
    async with running_hub(cfg) as h:
        headers = await h.agent()
        await dovecot.append(b"From: Pim <pim@example.com>\r\nTo: support@example.com\r\nSubject: q\r\n"
                             b"Message-ID: <pim-1@example.com>\r\n\r\nhow much?\r\n")
        await dovecot.append(fixture("out_of_office.eml", IN_REPLY_TO="<nothing@x>"))
        await wait_messages(h, 2)
        by_subject = {t["subject"]: t for t in await tickets_of(h, headers)}
        pim, ooo = by_subject["q"], by_subject["Automatic reply: Re: order"]
        assert ooo["status"] == "queued"
        from hub.domain import Author, Status

        # Automatic mail carries Auto-Submitted, and stops at the cap.
        for i in range(3):
            await h.hub.actions.post_automatic(pim["id"], Author.SYSTEM, f"notice {i}", only_if=tuple(Status))
        await h.settle()
        await smtpd.recorder.wait(2)
        assert all(smtpd.recorder.parsed(i)["Auto-Submitted"] == "auto-replied" for i in range(2))
        msgs = (await ticket(h, headers, pim["id"]))["messages"]
        assert [m["delivery"] for m in msgs[1:]] == ["sent", "sent", "failed"]
        assert "automatic mails per hour" in msgs[-1]["delivery_error"]
        # The address that sent an out-of-office gets no automatic mail at all.
        await h.hub.actions.post_automatic(ooo["id"], Author.SYSTEM, "we got your mail", only_if=tuple(Status))
        await h.settle()
        msgs = (await ticket(h, headers, ooo["id"]))["messages"]
        assert msgs[-1]["delivery"] == "failed" and "loop" in msgs[-1]["delivery_error"]
        assert len(smtpd.recorder.messages) == 2


async def test_smtp_permanent_error_is_recorded_and_temporary_one_retried(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port)})
    async with running_hub(cfg) as h:
        headers = await h.agent()
        await dovecot.append(fixture("thai_utf8.eml"))
        await wait_messages(h, 1)
        [t] = await tickets_of(h, headers)
        smtpd.recorder.rcpt_replies.append("451 4.3.0 try again later")
        await h.api("POST", f"/api/tickets/{t['id']}/reply", headers, json={"text": "first"})
        await smtpd.recorder.wait(1)
        smtpd.recorder.rcpt_replies.append("554 5.7.1 rejected by policy")
        await h.api("POST", f"/api/tickets/{t['id']}/reply", headers, json={"text": "second"})
        await wait_until(lambda: _delivered(h, headers, t["id"], 2))
        msgs = (await ticket(h, headers, t["id"]))["messages"]
        assert msgs[1]["delivery"] == "sent"
        assert msgs[2]["delivery"] == "failed" and "554" in msgs[2]["delivery_error"]


def _delivered(h: RunningHub, headers: dict[str, str], tid: int, n: int) -> Any:
    async def check() -> bool:
        msgs = (await ticket(h, headers, tid))["messages"]
        return sum(1 for m in msgs if m["delivery"] in ("sent", "failed")) >= n

    return check()


async def test_attachments_fetched_on_demand_and_unreadable_mail_kept(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port)})
    async with running_hub(cfg) as h:
        headers = await h.agent()
        await dovecot.append(fixture("attachments.eml"))
        await dovecot.append(b"\x00\x01\x02 this is not a mail at all \xff\xfe")
        await wait_messages(h, 2)
        by_subject = {t["subject"]: t for t in await tickets_of(h, headers)}
        full = await ticket(h, headers, by_subject["invoice"]["id"])
        m = full["messages"][0]
        names = [(a["name"], a["inline"]) for a in m["attachments"]]
        assert ("ใบแจ้งหนี้.pdf", False) in names and any(inline for _, inline in names)
        idx = [a["name"] for a in m["attachments"]].index("ใบแจ้งหนี้.pdf")
        async with h.session.get(f"{h.url}/api/tickets/{full['id']}/messages/{m['id']}/attachments/{idx}", headers=headers) as r:
            assert r.status == 200 and await r.read() == b"%PDF-1.4 invoice bytes"
        [other] = [t for s, t in by_subject.items() if s != "invoice"]
        m = (await ticket(h, headers, other["id"]))["messages"][0]
        assert "could not be read" in m["text"] and m["attachments"][0]["name"] == "message.eml"
        async with h.session.get(f"{h.url}/api/tickets/{other['id']}/messages/{m['id']}/attachments/0", headers=headers) as r:
            assert r.status == 200 and b"this is not a mail at all" in await r.read()  # Dovecot turns NUL into 0x80


async def test_tls_starttls_move_to_processed_folder_and_reconnect(sqlite_url: str, tmp_path: Any, smtpd: Smtpd) -> None:
    import shutil

    from tests.services import binary, need

    exe = binary("dovecot", "/usr/sbin")
    need("dovecot and openssl", exe is not None and shutil.which("openssl") is not None)
    root = private_root("tls-dovecot")
    d = Dovecot(root, exe or "", tls=True)
    d.start()
    try:
        await d.create("Done")
        imap = {"ssl": True, "port": d.ssl_port, "verify_tls": False, "processed_folder": "Done", "backoff_max": 0.5}
        cfg = hub_config(sqlite_url, channels={"email": email_channel(d, smtpd.port, imap=imap)})
        async with running_hub(cfg) as h:
            await d.append(fixture("thai_utf8.eml"))
            await wait_messages(h, 1)
            await wait_until(lambda: _count(d, "Done", 1))
            assert await d.flags("INBOX") == {}
            # The server goes away and comes back: the channel reconnects by itself.
            d.stop()
            d.start()
            await d.append(fixture("persian_utf8.eml"))
            await wait_messages(h, 2)
        starttls = {"starttls": True, "verify_tls": False}
        cfg = hub_config(sqlite_url, channels={"email": email_channel(d, smtpd.port, imap=starttls)})
        async with running_hub(cfg) as h:
            await d.append(fixture("no_charset.eml"))
            await wait_messages(h, 3)
            await wait_until(lambda: _seen(d))
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def _count(d: Dovecot, folder: str, n: int) -> Any:
    async def check() -> bool:
        return len(await d.flags(folder)) >= n

    return check()
