"""Erasing a customer: nothing of them is left in any table (nor, on SQLite, in the database files), nor in the mail
server's processed folder; the counts and times the reports need survive; replies still waiting are cancelled; the
same person writing again is a new, unknown customer.  On SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from hub.clock import FrozenClock
from hub.store.schema import customers, messages, outbox, tickets, webhook_deliveries
from tests.dovecot import Dovecot, dovecot, free_port, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.privacytest import customer_mail, database_files, database_text, leftovers
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, WEEKDAYS_9_18

NAME, SENDER, MID = "Nattaya Srisuk", "nattaya.srisuk@example.org", "order-7781-nattaya@example.org"
THAI = "กล่องพัสดุของดิฉันเสียหายยับเยิน"  # "my parcel box is badly damaged" (Thai: no spaces)
PERSIAN = "بستهٔ من آسیب دیده است"
PHONE_DIGITS = "819876543"
NEEDLES = [NAME, "Nattaya", "Srisuk", SENDER, MID, "ZX-55-QUOKKA", THAI, PERSIAN, PHONE_DIGITS,
           "passport-scan-nattaya.pdf", "PASSPORTBYTES", "ขอบคุณที่แจ้ง กำลังตรวจสอบ", "note-about-her-allergy",
           "callback-topic-kumquat", "callback-note-wombat"]


def _config(db_url: str, dov: Dovecot) -> Any:
    dead_smtp = free_port()  # nothing listens: replies stay in the outbox, waiting
    return hub_config(
        db_url,
        channels={
            "email": {"enabled": True, "address": "support@example.com", "hostname": "hub.example.com",
                      "imap": dov.imap_config(processed_folder="Done"),
                      "smtp": {"host": "127.0.0.1", "port": dead_smtp, "ssl": False, "starttls": False}},
            "webchat": {"enabled": True},
            "callback": {"enabled": True, "slot_minutes": 30, "calls_per_agent_per_slot": 1, "agents_on_shift": 1},
        },
        business_hours={"tz": "Asia/Bangkok", "weekly": WEEKDAYS_9_18, "holidays": []},
        departments=[{"name": "support", "default": True}, {"name": "callbacks"}],
        outbox={"max_attempts": 100, "backoff_base": 30, "sweep_interval": 0.05},
        # A CRM that is down: message and ticket events with her words wait in the webhook log.
        webhooks={"endpoints": [{"name": "crm", "url": f"http://127.0.0.1:{free_port()}/hook", "secret": "s" * 20,
                                 "allow_private": True}], "backoff_base": 60},
        scheduler_interval=3600,
    )


async def _mail_count(dov: Dovecot, folder: str) -> int:
    return len(await dov.flags(folder))


async def _email_tickets(h: RunningHub, n: int) -> list[Any]:
    async def found() -> list[Any] | None:
        async with h.hub.db.read() as conn:
            rows = (await conn.execute(select(tickets).where(tickets.c.channel == "email").order_by(tickets.c.id))).all()
        return rows if len(rows) >= n else None

    return await wait_until(found, timeout=90)


async def test_erased_customer_leaves_no_trace_and_comes_back_unknown(db_url: str, dovecot: Dovecot) -> None:  # noqa: F811
    await dovecot.create("Done")
    async with running_hub(_config(db_url, dovecot), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        admin = await h.agent("admin@example.com", "admin", departments=["support", "callbacks"])
        sup = await h.agent("sup@example.com", "supervisor")
        await dovecot.append(customer_mail(
            sender=SENDER, name=NAME, message_id=MID, subject="Order ZX-55-QUOKKA damaged",
            body=f"{THAI}\n{PERSIAN}\nCall me on 0{PHONE_DIGITS}.\n-- \n{NAME}",
            attachment=("passport-scan-nattaya.pdf", b"PASSPORTBYTES" * 10)))
        await dovecot.append(customer_mail(sender="other.person@example.net", name="Other Person",
                                           message_id="other-1@example.net", subject="Invoice", body="Where is my invoice?"))
        first, other = await _email_tickets(h, 2)
        await wait_until(lambda: _mail_count(dovecot, "Done"), timeout=30)
        await wait_until(lambda: _done_holds(dovecot, 2))
        await h.settle()
        tid = first.id
        # An agent works the ticket: a reply (stuck in the outbox: the mail server is down), a note, a callback.
        status, _ = await h.api("POST", f"/api/tickets/{tid}/reply", admin, json={"text": "ขอบคุณที่แจ้ง กำลังตรวจสอบ"})
        assert status == 201
        await h.api("POST", f"/api/tickets/{tid}/notes", admin, json={"text": "note-about-her-allergy"})
        status, cb = await h.api("POST", f"/api/tickets/{tid}/callback", admin, json={
            "window_start": "2027-03-01T14:00:00", "window_end": "2027-03-01T15:00:00", "tz": "Asia/Bangkok",
            "phone": f"+66 {PHONE_DIGITS}", "topic": "callback-topic-kumquat"})
        assert status == 201, cb
        await h.api("POST", f"/api/callbacks/{cb['id']}/claim", admin)
        await h.api("POST", f"/api/callbacks/{cb['id']}/outcome", admin,
                    json={"outcome": "no_answer", "note": "callback-note-wombat"})
        await h.api("PATCH", f"/api/customers/{first.customer_id}", admin, json={"tags": ["Nattaya-vip"]})
        await h.settle()
        async with h.hub.db.read() as conn:
            pending = (await conn.execute(select(func.count()).select_from(outbox).where(outbox.c.state == "pending"))).scalar()
            before = (await conn.execute(select(func.count()).select_from(messages))).scalar()
        assert pending >= 1
        async with h.hub.db.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(webhook_deliveries))).scalar() >= 2
        text = await database_text(h.hub.db)
        assert leftovers(text, b"", NEEDLES[:4]) == NEEDLES[:4]  # the search does find them while they are there

        # Only admins erase, and only with the id repeated.
        path = f"/api/customers/{first.customer_id}/erase"
        assert (await h.api("POST", path, sup, json={"confirm": first.customer_id}))[0] == 403
        status, err = await h.api("POST", path, admin, json={"confirm": True})
        assert status == 422 and err["error"]["field"] == "confirm"
        status, done = await _erase(h, path, admin, first.customer_id)
        assert status == 200, done
        assert done["tickets"] == 1 and done["outbox_cancelled"] >= 1 and done["mails_removed"] == 1
        assert done["identities"] >= 1 and done["callbacks"] == 1
        await h.settle()

        # Nothing of her in any table, in the files, or on the mail server; the other customer is untouched.
        text = await database_text(h.hub.db)
        assert leftovers(text, database_files(db_url), NEEDLES) == []
        assert "Where is my invoice?" in text and "other.person@example.net" in text
        assert await _mail_count(dovecot, "Done") == 1 and await _mail_count(dovecot, "INBOX") == 0

        # Counts and times survive, anonymised; the waiting reply will not go out.
        async with h.hub.db.read() as conn:
            t = (await conn.execute(select(tickets).where(tickets.c.id == tid))).one()
            assert t.created_at == first.created_at and t.first_response_at is not None and t.department is not None
            assert t.anonymised_at is not None and t.subject is None
            assert (await conn.execute(select(func.count()).select_from(messages))).scalar() == before
            states = {r.state for r in (await conn.execute(select(outbox.c.state))).all()}
            c = (await conn.execute(select(customers).where(customers.c.id == first.customer_id))).one()
        assert "pending" not in states and c.erased_at is not None and c.name is None
        status, rep = await h.api("GET", "/api/reports/summary", admin)
        assert status == 200

        # Erasing twice is harmless; the audit log says who did it, with numbers only.
        assert (await h.api("POST", path, admin, json={"confirm": first.customer_id}))[0] == 200
        _, log = await h.api("GET", f"/api/audit?action=customer.erase&customer={first.customer_id}", admin)
        assert len(log["items"]) == 2 and log["items"][-1]["detail"]["tickets"] == 1

        # She writes again from the same address, quoting the old thread: a new, unknown customer and a new ticket.
        again = customer_mail(sender=SENDER, name=NAME, message_id="second-nattaya@example.org",
                              subject=f"Re: [#{tid}] Order damaged", body="Any news?")
        again = again.replace(b"Subject:", f"In-Reply-To: <{MID}>\r\nReferences: <{MID}>\r\nSubject:".encode(), 1)
        await dovecot.append(again)
        rows = await _email_tickets(h, 3)
        assert rows[-1].customer_id not in (first.customer_id, other.customer_id) and rows[-1].id != tid
        _, cust = await h.api("GET", f"/api/customers/{rows[-1].customer_id}", admin)
        assert [t["id"] for t in cust["tickets"]] == [rows[-1].id]


async def _erase(h: RunningHub, path: str, headers: dict[str, str], cid: int) -> tuple[int, Any]:
    """Erase as an admin would: a 503 (the mail server refused for a while; nothing was erased) is tried again."""
    for _ in range(5):
        status, body = await h.api("POST", path, headers, json={"confirm": cid})
        if status != 503:
            break
        await asyncio.sleep(2)
    return status, body


async def _done_holds(dov: Dovecot, n: int) -> bool:
    return await _mail_count(dov, "Done") >= n


async def test_erase_answers_404_and_needs_a_login(hub: RunningHub) -> None:
    admin = await hub.agent("admin@example.com", "admin")
    assert (await hub.api("POST", "/api/customers/999/erase", json={"confirm": 999}))[0] == 401
    status, err = await hub.api("POST", "/api/customers/999/erase", admin, json={"confirm": 999})
    assert status == 404 and err["error"]["code"] == "not_found"
    assert (await hub.api("GET", "/api/customers/999/export", admin))[0] == 404


async def test_an_erased_chat_visitor_returning_with_the_old_token_is_a_stranger(hub: RunningHub) -> None:
    admin = await hub.agent("admin@example.com", "admin")
    chat = await hub.chat(name="Parisa Ahmadi", email="parisa@example.ir", lang="fa")
    ack = await chat.say("سلام، سفارش ۱۲۳۴ من کجاست؟")
    token = chat.token
    await hub.settle()
    await chat.close()
    async with hub.hub.db.read() as conn:
        cid = (await conn.execute(select(tickets.c.customer_id).join(messages, messages.c.ticket_id == tickets.c.id)
                                  .where(messages.c.id == ack["message_id"]))).scalar()
    status, _ = await hub.api("POST", f"/api/customers/{cid}/erase", admin, json={"confirm": cid})
    assert status == 200
    back = await hub.chat(visitor_token=token)
    assert back.welcome["visitor_token"] != token and back.welcome["history"] == []
    await back.close()
    text = await database_text(hub.hub.db)
    assert leftovers(text, b"", ["Parisa", "parisa@example.ir", "سفارش ۱۲۳۴"]) == []


async def test_an_erased_customer_is_not_on_the_win_back_list(hub: RunningHub) -> None:
    from datetime import timedelta

    from sqlalchemy import insert, update

    from hub.store.schema import surveys
    from hub.surveys.winback import candidates

    admin = await hub.agent("admin@example.com", "admin")
    chat = await hub.chat(name="Unhappy Udom")
    ack = await chat.say("the parcel never came")
    await hub.settle()
    await chat.close()
    long_ago = hub.hub.clock.now() - timedelta(days=60)
    async with hub.hub.db.write() as conn:
        t = (await conn.execute(select(tickets).join(messages, messages.c.ticket_id == tickets.c.id)
                                .where(messages.c.id == ack["message_id"]))).one()
        await conn.execute(update(messages).where(messages.c.ticket_id == t.id).values(created_at=long_ago))
        await conn.execute(insert(surveys).values(
            ticket_id=t.id, customer_id=t.customer_id, resolved_at=long_ago, channel="webchat", language="en",
            state="answered", score=1, answers=1, due_at=long_ago, answered_at=long_ago, created_at=long_ago, updated_at=long_ago))
    assert [c["customer_id"] for c in await candidates(hub.hub, 30)] == [t.customer_id]
    assert (await hub.api("POST", f"/api/customers/{t.customer_id}/erase", admin, json={"confirm": t.customer_id}))[0] == 200
    assert await candidates(hub.hub, 30) == []


async def test_an_erased_telegram_customer_leaves_no_file_ids_names_or_phone(db_url: str) -> None:
    from tests.fake_telegram import FakeTelegram, load, telegram_hub, wait_stored

    async with FakeTelegram() as fake:
        async with telegram_hub(db_url, fake) as h:
            admin = await h.agent("admin@example.com", "admin")
            fake.push(load("photo_caption"))
            fake.push(load("contact"))  # he shares his own phone number: +66 81 234 5678
            rows = await wait_stored(h, 2)
            await h.settle()
            text = await database_text(h.hub.db)
            needles = ["AgACAgUAAxkBAAMMZ0photo", "somchai_j", "Jaidee", "กล่องพัสดุเสียหายตอนได้รับ", "812345678", "7012345678"]
            assert leftovers(text, b"", needles) == needles
            async with h.hub.db.read() as conn:
                cid = (await conn.execute(select(tickets.c.customer_id).where(tickets.c.id == rows[0].ticket_id))).scalar()
            status, done = await h.api("POST", f"/api/customers/{cid}/erase", admin, json={"confirm": cid})
            assert status == 200 and done["mails_removed"] == 0
            text = await database_text(h.hub.db)
            assert leftovers(text, database_files(db_url), needles) == []
            # He writes again: a stranger to the hub.
            fake.push(load("text_th"))
            rows = await wait_stored(h, 3)
            async with h.hub.db.read() as conn:
                again = (await conn.execute(select(tickets.c.customer_id).where(tickets.c.id == rows[-1].ticket_id))).scalar()
            assert again != cid
