"""Opting out of win-back and proactive follow-up messages: List-Unsubscribe (RFC 2369) with one-click (RFC 8058).

A follow-up message carries the customer's unsubscribe token and link in its meta; the email channel turns them
into `List-Unsubscribe: <https://PUBLIC_URL/u/TOKEN>, <mailto:ADDRESS?subject=unsubscribe%20TOKEN>` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`.  The link opens a small page (hub.surveys.unsubscribe) whose
POST, or a mail client's one-click POST, records the opt-out; a mail to the mailto address does the same.

The token is `<customer id>.<signature>`, signed with the survey links' key (hub.surveys.links) under its own
prefix.  It does not expire: a mailbox provider may post it long after the mail arrived.  An opted-out customer
gets no more win-back or follow-up messages on any channel (their scheduled ones are cancelled, later ones are not
sent, and the win-back list leaves them out); replies to their own tickets, and agents' reminders, are unchanged.
"""
from __future__ import annotations

import hmac
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import NO_ANSWER, Inbound
from hub.inbound_store import Claimed
from hub.store import tickets as ticket_store
from hub.store.schema import customers, followups, tickets
from hub.surveys.links import Signer

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.surveys")
PATH = "/u/"
_TOKEN = re.compile(r"^(\d{1,11})\.([0-9a-f]{32})$")
_MAIL = re.compile(r"^\s*unsubscribe\s+(\d{1,11}\.[0-9a-f]{32})\b", re.IGNORECASE)
REASON = "the customer unsubscribed from follow-up messages"


def token(signer: Signer, customer_id: int) -> str:
    return f"{customer_id}.{signer.mac(f'unsubscribe:{customer_id}')}"


def customer_of(signer: Signer, value: str) -> int | None:
    """The customer a token was issued to, or None for a forged or malformed one."""
    m = _TOKEN.match(value)
    if m is None:
        return None
    cid = int(m.group(1))
    return cid if hmac.compare_digest(m.group(2), signer.mac(f"unsubscribe:{cid}")) else None


def link(public_url: str | None, value: str) -> str | None:
    """The one-click link on server.public_url; None without one (the mailto is then the only way)."""
    return f"{public_url.rstrip('/')}{PATH}{value}" if public_url else None


def meta(signer: Signer, public_url: str | None, customer_id: int) -> dict[str, Any]:
    """What a follow-up message keeps for its List-Unsubscribe headers (read by hub.outbox)."""
    value = token(signer, customer_id)
    return {"unsubscribe": {"token": value, "url": link(public_url, value)}}


async def unsubscribed(conn: AsyncConnection, customer_id: int) -> bool:
    at = (await conn.execute(select(customers.c.unsubscribed_at).where(customers.c.id == customer_id))).scalar()
    return at is not None


async def record(conn: AsyncConnection, customer_id: int, now: datetime, via: str) -> bool:
    """Store the opt-out in the caller's transaction; False when the customer had opted out already (or is gone)."""
    res = await conn.execute(update(customers).where(and_(customers.c.id == customer_id, customers.c.unsubscribed_at.is_(None)))
                             .values(unsubscribed_at=now))
    if res.rowcount != 1:
        return False
    cancelled = await conn.execute(
        update(followups).where(and_(followups.c.customer_id == customer_id, followups.c.mode == "message",
                                     followups.c.state == "scheduled"))
        .values(state="cancelled", reason=REASON, updated_at=now, done_at=now)
    )
    last = (await conn.execute(select(tickets.c.id).where(tickets.c.customer_id == customer_id)
                               .order_by(tickets.c.id.desc()).limit(1))).scalar()
    if last is not None:
        n = cancelled.rowcount or 0
        await ticket_store.add_trace(conn, last, now, "unsubscribed",
                                     f"{REASON} ({via}); {n} scheduled follow-up message{'s' if n != 1 else ''} cancelled")
    log.info("customer %s unsubscribed from follow-up messages via %s", customer_id, via)
    return True


class OptOut:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def unsubscribe(self, value: str, via: str) -> int | None:
        """The customer of a valid token, after recording the opt-out (idempotent); None for a bad token."""
        cid = customer_of(await self.hub.surveys.signer(), value)
        if cid is None:
            return None
        async with self.hub.db.write() as conn:
            if (await conn.execute(select(customers.c.id).where(customers.c.id == cid))).first() is None:
                return None
            await record(conn, cid, self.hub.clock.now(), via)
        return cid

    async def intercept(self, conn: AsyncConnection, inbound: Inbound, cid: int, iid: int, now: datetime) -> Claimed | None:
        """A mail to the List-Unsubscribe mailto: "unsubscribe TOKEN" in the subject, from the customer the token
        names.  It is kept on their latest ticket without reopening it."""
        if inbound.channel != "email" or inbound.flags & NO_ANSWER:
            return None
        m = _MAIL.match(inbound.subject or "") or _MAIL.match(inbound.text)
        if m is None:
            return None
        signer = self.hub.surveys.loaded_signer  # loaded at start: loading may write, and this runs in a write
        if signer is None or customer_of(signer, m.group(1)) != cid:
            return None  # another customer's token, or a forged one: an ordinary message
        last = (await conn.execute(select(tickets.c.id).where(tickets.c.customer_id == cid)
                                   .order_by(tickets.c.id.desc()).limit(1))).scalar()
        if last is None:
            return None
        await record(conn, cid, now, "mail")
        return Claimed(last, meta={"unsubscribe": True})
