"""An address someone typed (a chat hello's email, a callback phone, the contact form) is display data, not an
identity: it never draws the real owner's messages into the typist's record, and it never keeps the owner from
proving it (a mail from the address, their own Telegram contact).  Supervisors link records by hand.
On SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

from hub.clock import FrozenClock
from hub.domain import Identity, Inbound
from tests.hubtest import RunningHub, running_hub
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config

VICTIM = "somchai@example.co.th"
PHONE, PHONE2 = "+66812345678", "+66898765432"


async def mail_from(h: RunningHub, address: str, n: int) -> Any:
    """A mail from the address, as the email channel hands it to the intake (the IMAP From is the proof)."""
    return await h.hub.intake.deliver(Inbound(
        channel="email", provider_id=f"<m{n}@example.co.th>", sender=Identity("email", address), text=f"mail {n}",
        received_at=h.hub.clock.now(), subject=f"mail {n}", raw={"display": address},
    ))


async def telegram_contact(h: RunningHub, chat_id: int, phone: str, n: int) -> Any:
    """A Telegram message with the sender's own shared contact, as the Telegram channel hands it over."""
    return await h.hub.intake.deliver(Inbound(
        channel="telegram", provider_id=f"{chat_id}:{n}", sender=Identity("telegram", str(chat_id)), text=f"[contact] {phone}",
        received_at=h.hub.clock.now(), extra_identities=(Identity("phone", phone),),
    ))


async def customer(h: RunningHub, cid: int, headers: dict[str, str]) -> dict[str, Any]:
    status, body = await h.api("GET", f"/api/customers/{cid}", headers)
    assert status == 200, body
    return body


def addresses(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["channel"], r["external_id"]) for r in rows}


async def test_an_email_typed_in_chat_never_takes_the_owners_mail(db_url: str) -> None:
    async with running_hub(callback_config(db_url), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        sup = await h.agent("sup@example.com", role="supervisor")
        impostor = await h.chat(name="Somchai", email=VICTIM.upper())
        chat_ack = await impostor.say("hello, any news on my order?")
        # The real owner uses the contact form, then writes a mail: neither lands in the impostor's record.
        status, form = await h.api("POST", "/contact", json={"name": "Somchai", "email": VICTIM, "message": "my order 1234 is late"})
        assert status == 201, form
        _, form_ticket = await h.api("GET", f"/api/tickets/{form['ticket_id']}", sup)
        impostor_id = (await h.api("GET", f"/api/tickets/{chat_ack['ticket_id']}", sup))[1]["customer_id"]
        assert form_ticket["customer_id"] != impostor_id
        assert form_ticket["recipient_verified"] is False  # the answer goes to a typed address, and agents see so
        mail = await mail_from(h, VICTIM, 1)
        assert mail.customer_id != impostor_id
        # The mail proved the address of the form's record: one record for the owner, and it is verified now.
        assert mail.customer_id == form_ticket["customer_id"]
        owner = await customer(h, mail.customer_id, sup)
        assert ("email", VICTIM) in addresses(owner["identities"]) and owner["unverified"] == []
        assert {t["id"] for t in owner["tickets"]} == {form["ticket_id"], mail.ticket_id}
        # The impostor's record shows the typed address as unverified display data, pointing at its proven owner.
        imp = await customer(h, impostor_id, sup)
        assert addresses(imp["identities"]) == {("webchat", "visitor")}
        assert imp["unverified"] == [{"channel": "email", "external_id": VICTIM, "display": None, "unreachable": None,
                                      "owner_id": mail.customer_id}]
        assert [t["id"] for t in imp["tickets"]] == [chat_ack["ticket_id"]]
        # Later forms from the same address stay apart from the proven record (nobody proved who filled them in),
        # and later chat messages of the impostor never reach the owner either.
        await impostor.say("still waiting")
        status, form2 = await h.api("POST", "/contact", json={"email": VICTIM, "message": "second form"})
        assert status == 201
        second = (await h.api("GET", f"/api/tickets/{form2['ticket_id']}", sup))[1]["customer_id"]
        assert second not in (impostor_id, mail.customer_id)
        assert (await mail_from(h, VICTIM, 2)).customer_id == mail.customer_id


async def test_a_typed_phone_never_keeps_the_owner_from_proving_it(db_url: str) -> None:
    async with running_hub(callback_config(db_url), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        sup = await h.agent("sup@example.com", role="supervisor")
        # Someone books a call for the owner's number on the public form first.
        status, cb = await h.api("POST", "/api/callbacks", json=booking(phone="081 234 5678", slot="2027-03-01T10:00:00+07:00"))
        assert status == 201, cb
        form_customer = (await h.api("GET", f"/api/tickets/{cb['ticket_id']}", sup))[1]["customer_id"]
        # A chat visitor books for another number: it is kept on their record as typed, not as an identity.
        chat = await h.chat()
        await chat.say("please call me")
        status, cb2 = await h.api("POST", "/api/callbacks", json=booking(phone=PHONE2, slot="2027-03-01T10:30:00+07:00",
                                                                      visitor_token=chat.token))
        assert status == 201, cb2
        chat_customer = (await h.api("GET", f"/api/tickets/{cb2['ticket_id']}", sup))[1]["customer_id"]
        assert ("phone", PHONE2) in addresses((await customer(h, chat_customer, sup))["unverified"])
        # Each owner shares their own contact on Telegram: the number becomes their proven identity.
        owner = await telegram_contact(h, 501, PHONE, 1)
        owner2 = await telegram_contact(h, 502, PHONE2, 1)
        assert owner.customer_id not in (form_customer, chat_customer)
        assert ("phone", PHONE) in addresses((await customer(h, owner.customer_id, sup))["identities"])
        assert ("phone", PHONE2) in addresses((await customer(h, owner2.customer_id, sup))["identities"])
        chat_record = await customer(h, chat_customer, sup)
        assert ("phone", PHONE2) not in addresses(chat_record["identities"])
        assert [u["owner_id"] for u in chat_record["unverified"] if u["external_id"] == PHONE2] == [owner2.customer_id]
        # A later form booking with the owner's number stays out of the owner's record.
        status, cb3 = await h.api("POST", "/api/callbacks", json=booking(phone=PHONE, slot="2027-03-01T11:00:00+07:00"))
        assert status == 201, cb3
        later = (await h.api("GET", f"/api/tickets/{cb3['ticket_id']}", sup))[1]["customer_id"]
        assert later != owner.customer_id and later == form_customer  # the form-only record of that number
        # An agent booking for the owner's Telegram ticket finds the proven number.
        status, cb4 = await h.api("POST", f"/api/tickets/{owner.ticket_id}/callback", sup,
                                  json={"slot": "2027-03-01T11:30:00+07:00", "tz": "Asia/Bangkok"})
        assert status == 201, cb4
        assert (await h.api("GET", f"/api/callbacks/{cb4['id']}", sup))[1]["phone"] == PHONE


async def test_supervisors_merge_records_and_each_conversation_stays_its_own(db_url: str) -> None:
    async with running_hub(callback_config(db_url), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        sup = await h.agent("sup@example.com", role="supervisor")
        agent = await h.agent("agent@example.com")
        first = await h.chat(email=VICTIM)
        a1 = await first.say("from my laptop")
        second = await h.chat()
        b1 = await second.say("from my phone")
        status, form = await h.api("POST", "/contact", json={"email": VICTIM, "message": "from the form"})
        assert status == 201
        keep = (await h.api("GET", f"/api/tickets/{a1['ticket_id']}", sup))[1]["customer_id"]
        other = (await h.api("GET", f"/api/tickets/{b1['ticket_id']}", sup))[1]["customer_id"]
        form_customer = (await h.api("GET", f"/api/tickets/{form['ticket_id']}", sup))[1]["customer_id"]

        path = f"/api/customers/{other}/merge"
        assert (await h.api("POST", path, agent, json={"customer_id": keep}))[0] == 403
        for body, code, field in (({"customer_id": other}, 422, "customer_id"), ({"customer_id": "x"}, 422, "customer_id"),
                                  ({}, 422, "customer_id"), ({"customer_id": 999999}, 404, None)):
            status, err = await h.api("POST", path, sup, json=body)
            assert status == code and err["error"].get("field") == field, (body, err)
        assert (await h.api("POST", "/api/customers/999999/merge", sup, json={"customer_id": keep}))[0] == 404

        status, merged = await h.api("POST", path, sup, json={"customer_id": keep})
        assert status == 200, merged
        status, merged = await h.api("POST", f"/api/customers/{form_customer}/merge", sup, json={"customer_id": keep})
        assert status == 200, merged
        assert {t["id"] for t in merged["tickets"]} == {a1["ticket_id"], b1["ticket_id"], form["ticket_id"]}
        assert sorted(i["channel"] for i in merged["identities"]) == ["webchat", "webchat"]
        assert addresses(merged["unverified"]) == {("email", VICTIM)}  # held once
        assert (await h.api("GET", f"/api/customers/{other}", sup))[0] == 404
        _, t = await h.api("GET", f"/api/tickets/{b1['ticket_id']}", sup)
        assert t["customer_id"] == keep and any(x["what"] == "customer_merged" for x in t["trace"])

        # Each chat goes on in its own conversation, and a reconnecting token sees only its own history.
        assert (await second.say("still me"))["ticket_id"] == b1["ticket_id"]
        assert (await first.say("me too"))["ticket_id"] == a1["ticket_id"]
        again = await h.chat(visitor_token=second.token)
        assert [m["text"] for m in again.welcome["history"]] == ["from my phone", "still me"]
        # Replies still go where each customer wrote.
        status, _ = await h.api("POST", f"/api/tickets/{b1['ticket_id']}/reply", sup, json={"text": "hello phone"})
        assert status in (200, 201)
        assert (await again.expect("message", author="agent"))["text"] == "hello phone"


async def test_the_migration_turns_earlier_claims_into_unverified_addresses(db_url: str) -> None:
    from datetime import datetime, timezone

    from sqlalchemy import text

    from hub.store.db import Database
    from hub.store.migrate import migrate

    db = Database(db_url)
    try:
        await migrate(db, "0003")
        now = datetime(2027, 3, 1, tzinfo=timezone.utc)
        async with db.write() as conn:
            for cid in (1, 2, 3):
                await conn.execute(text("INSERT INTO customers (id, tier, tags, created_at) VALUES (:i, 'standard', '[]', :t)"), {"i": cid, "t": now})
            rows = [(1, 1, "webchat", "v1"), (2, 1, "email", VICTIM),  # a chat and the email its hello typed
                    (3, 2, "telegram", "501"), (4, 2, "phone", PHONE),  # a Telegram chat and its shared contact
                    (5, 3, "phone", PHONE2), (6, 3, "email", "form@example.com")]  # a callback form; a mail's sender
            for iid, cid, ch, ext in rows:
                await conn.execute(text("INSERT INTO identities (id, customer_id, channel, external_id, created_at) "
                                        "VALUES (:i, :c, :ch, :e, :t)"), {"i": iid, "c": cid, "ch": ch, "e": ext, "t": now})
            await conn.execute(text("INSERT INTO tickets (id, customer_id, status, priority, kind, channel, identity_id, tags, "
                                    "created_at, updated_at, breached, bot_misses, bot_state) VALUES (1, 3, 'queued', 'normal', "
                                    "'question', 'email', 6, '[]', :t, :t, '[]', 0, '{}')"), {"t": now})
        await migrate(db)
        async with db.read() as conn:
            got = dict((await conn.execute(text("SELECT id, verified FROM identities ORDER BY id"))).all())
        assert {k: bool(v) for k, v in got.items()} == {1: True, 2: False, 3: True, 4: True, 5: False, 6: True}
        async with db.read() as conn:  # copying the table (SQLite) kept the rows that point at it
            assert (await conn.execute(text("SELECT identity_id FROM tickets WHERE id = 1"))).scalar_one() == 6
        async with db.write() as conn:  # an unverified address may now repeat; a verified one still may not
            await conn.execute(text("INSERT INTO identities (id, customer_id, channel, external_id, created_at, verified) "
                                    "VALUES (7, 1, 'phone', :e, :t, false)"), {"e": PHONE2, "t": now})
    finally:
        await db.close()
