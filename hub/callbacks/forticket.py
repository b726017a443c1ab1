"""An agent books a callback for a ticket's customer: the customer wrote on Telegram or by email and asked to be
called, so the booking and its confirmation belong to that conversation, not to a new phone-only ticket.

The request is read from the ticket (its channel, the identity replies go to, the thread so far) plus the agent's
JSON; validation, capacity and the 409 with the next free slots are the same as for `POST /api/callbacks` because
the booking itself goes through `CallbackService.book`.  Imports hub only.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import and_, select

from hub.callbacks.service import LANG, REQUEST_KEY, Booked, CallbackService, Origin, Request
from hub.callbacks.values import phone_e164, zone
from hub.domain import Agent, Identity
from hub.errors import ConflictError, Invalid, NotFoundError
from hub.store import tickets as ticket_store
from hub.store.schema import customers, identities
from hub.validation import text_field

log = logging.getLogger("hub.callbacks")


async def customer_phone(conn: Any, customer_id: int) -> str | None:
    """A customer's phone in E.164: the newest proven one (a Telegram shared contact), else the newest they typed
    (an earlier booking); the agent booking for them sees it in the confirmation."""
    row = (
        await conn.execute(
            select(identities.c.external_id)
            .where(and_(identities.c.customer_id == customer_id, identities.c.channel == "phone"))
            .order_by(identities.c.verified.desc(), identities.c.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else row.external_id


async def parse_for_ticket(svc: CallbackService, ticket_id: int, data: dict[str, Any]) -> tuple[Request, Origin]:
    async with svc.db.read() as conn:
        try:
            t = await ticket_store.get_ticket(conn, ticket_id)
        except ticket_store.NotFound:
            raise NotFoundError("no such ticket") from None
        to = await ticket_store.recipient(conn, ticket_id)
        if to is None:
            raise ConflictError("this ticket has no customer address to confirm the callback to")
        refs = await ticket_store.thread_refs(conn, ticket_id, to[0])
        known = await customer_phone(conn, t.customer_id)
        cust = (await conn.execute(select(customers.c.name, customers.c.language).where(customers.c.id == t.customer_id))).first()
    raw_phone = data.get("phone")
    if raw_phone in (None, ""):
        if known is None:
            raise Invalid("phone is required: the customer has not shared a phone number", field="phone")
        raw_phone = known
    phone = phone_e164(raw_phone, svc.hub.config.default_region)
    tz = zone(data.get("tz"))
    slot, start, end = svc.window(data, tz)
    topic = text_field(data, "topic", 500, required=False, strip=True) or t.subject
    lang = text_field(data, "lang", 10, required=False, strip=True)
    if lang is not None and not LANG.match(lang):
        raise Invalid("lang must be a language code such as en, th or fa", field="lang")
    lang = (lang or t.language or (cust.language if cust else None) or "").lower() or None
    key = data.get("request_id")
    key = key if isinstance(key, str) and REQUEST_KEY.match(key) else None
    name = cust.name if cust else None
    req = Request(name, phone, slot, start, end, str(tz.key), topic and topic[:500], lang, None, key)
    # The ticket hint keeps a non-conversational channel (email) on this very ticket even without matching refs.
    origin = Origin(to[0], Identity(to[0], to[1]), refs, ticket_hint=ticket_id)
    return req, origin


async def book_for_ticket(svc: CallbackService, ticket_id: int, agent: Agent, data: dict[str, Any]) -> Booked:
    req, origin = await parse_for_ticket(svc, ticket_id, data)
    booked = await svc.book(req, origin, by_agent=True)
    if not booked.duplicate:
        async with svc.db.write() as conn:
            await ticket_store.add_trace(conn, booked.callback["ticket_id"], svc.clock.now(), "callback",
                                         f"booked by agent {agent.id} from ticket #{ticket_id}")
    log.info("callback %s booked by agent %s for ticket %s via %s", booked.callback["id"], agent.id, ticket_id, origin.channel)
    return booked
