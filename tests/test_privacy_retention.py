"""Retention: the scheduled job removes what config says is kept no longer (per channel), in small audited
batches, and a second run changes nothing.  On SQLite and PostgreSQL, with the raw mails on a real IMAP server."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.clock import FrozenClock
from hub.config import ConfigError, from_mapping
from hub.store.schema import customers, identities, messages, tickets
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.mailtest import Smtpd, email_channel, smtpd  # noqa: F401  (fixture)
from tests.privacytest import customer_mail, database_text, leftovers
from tests.test_callbacks_helpers import MONDAY_7AM_BKK

OLD_WORDS = ["ลืมรหัสผ่านแล้วค่ะช่วยด้วย", "رمز عبورم را فراموش کردم", "forgot-password-kiwi"]


async def _chat_ticket(h: RunningHub, name: str, text: str) -> tuple[int, int]:
    chat = await h.chat(name=name)
    ack = await chat.say(text)
    await h.settle()
    await chat.close()
    async with h.hub.db.read() as conn:
        row = (await conn.execute(select(tickets.c.id, tickets.c.customer_id).join(messages, messages.c.ticket_id == tickets.c.id)
                                  .where(messages.c.id == ack["message_id"]))).one()
    return row.id, row.customer_id


async def _run(h: RunningHub) -> None:
    """What the scheduler does when the job falls due."""
    await h.hub.scheduler.tick()
    await h.settle()


async def test_retention_removes_old_data_in_audited_batches(db_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:  # noqa: F811
    clock = FrozenClock(MONDAY_7AM_BKK)
    cfg = hub_config(db_url, channels={"email": email_channel(dovecot, smtpd.port), "webchat": {"enabled": True}},
                     scheduler_interval=3600, tickets={"auto_close_after": "3d"},  # as shipped (the test base has 0)
                     retention={"closed_tickets": "2y", "batch": 2, "pause": 0,
                                "channels": {"webchat": {"closed_tickets": "30d"}, "email": {"raw_sources": "30d"}}})
    async with running_hub(cfg, clock=clock) as h:
        admin = await h.agent("admin@example.com", "admin")
        old = [await _chat_ticket(h, f"Old Visitor {i}", f"{OLD_WORDS[i % 3]} #{i}") for i in range(5)]
        for tid, _ in old:
            assert (await h.api("POST", f"/api/tickets/{tid}/resolve", admin))[0] == 200
        still_open, open_customer = await _chat_ticket(h, "Open Olga", "still-waiting-mango")
        await dovecot.append(customer_mail(sender="mail.user@example.org", name="Mail User", message_id="keep-text-1@example.org",
                                           subject="Receipt", body="please-keep-this-text", attachment=("r.pdf", b"RECEIPT")))

        async def mail_stored() -> Any:
            async with h.hub.db.read() as conn:
                return (await conn.execute(select(messages).where(messages.c.channel == "email"))).first()

        mail = await wait_until(mail_stored, timeout=90)
        assert mail.raw and mail.attachments[0]["ref"]
        await h.settle()

        await _run(h)  # the first run (due at start) finds nothing old enough
        _, log = await h.api("GET", "/api/audit?action=retention.run", admin)
        assert log["items"] == []

        # Days pass as they would: the resolved chats close on their own first (tickets.auto_close_after), then the
        # month runs out.
        clock.advance(days=4)
        await _run(h)
        clock.advance(days=31)
        await _run(h)
        async with h.hub.db.read() as conn:
            rows = {r.id: r for r in (await conn.execute(select(tickets))).all()}
            mail = (await conn.execute(select(messages).where(messages.c.id == mail.id))).one()
            gone = (await conn.execute(select(customers).where(customers.c.id.in_([c for _, c in old])))).all()
            idents = (await conn.execute(select(identities.c.customer_id))).all()
        # Resolved chats past 30 days: anonymised, times kept; their customers forgotten.
        for tid, _ in old:
            assert rows[tid].anonymised_at is not None and rows[tid].resolved_at is not None
        assert all(c.erased_at is not None and c.name is None for c in gone)
        assert {r.customer_id for r in idents} & {c for _, c in old} == set()
        # The open chat and the mail's text stay; the mail's raw source went, on the server too.
        assert rows[still_open].anonymised_at is None
        assert mail.text.startswith("please-keep-this-text") and mail.raw is None and mail.attachments[0]["ref"] == ""
        assert mail.attachments[0]["name"] == "r.pdf"
        assert await dovecot.flags("INBOX") == {}
        text = await database_text(h.hub.db)
        assert leftovers(text, b"", OLD_WORDS + ["Old Visitor"]) == []
        assert "still-waiting-mango" in text and "Open Olga" in text

        # In batches of two, each in the log as the hub's own action.
        admin = await h.login("admin@example.com")  # a month later: the old session has expired
        _, log = await h.api("GET", "/api/audit?action=retention.run", admin)
        entries = log["items"]
        ticket_batches = [e for e in entries if e["target_type"] == "tickets"]
        assert [e["detail"]["tickets"] for e in reversed(ticket_batches)] == [2, 2, 1]
        assert all(e["actor_id"] is None and e["actor_name"] == "system" and e["source"] == "scheduler" for e in entries)
        assert sum(e["detail"].get("customers", 0) for e in entries) == 5
        assert sum(e["detail"].get("raw_sources", 0) for e in entries) == 1

        # Running again changes nothing and writes no new entry.
        before = len(entries)
        clock.advance(days=1)
        await h.hub.retention.run()
        admin = await h.login("admin@example.com")
        _, log = await h.api("GET", "/api/audit?action=retention.run", admin)
        assert len(log["items"]) == before


def test_retention_config_names_the_bad_key() -> None:
    for bad, key in (({"closed_tickets": "two years"}, "retention.closed_tickets"),
                     ({"channels": {"email": {"raw": "30d"}}}, "retention.channels.email.raw"),
                     ({"every": None}, "retention.every"), ({"batch": 0}, "retention.batch")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            from_mapping({"retention": bad})
