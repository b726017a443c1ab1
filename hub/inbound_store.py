"""One inbound message stored inside the intake's open transaction: whether it is a copy already stored, its
sender, the ticket it continues or opens (hub.placement), and its row.

hub.intake groups messages into transactions and runs what follows each commit; this module is what happens to
each message inside one.  A known chat sender's next message takes hub.known_senders' two-statement path; an edit
changes the message it edits; a plug-in (hub.surveys) may claim a message as the answer it was waiting for.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, update

from hub.domain import Accepted, Author, Direction, Inbound, Ticket
from hub.grouping import GROUP
from hub.known_senders import KnownSenders
from hub.placement import Placement
from hub.ports import RouteResult
from hub.store import customers as customer_store
from hub.store import facts, records
from hub.store import tickets as ticket_store
from hub.store.prepared import PreparedIn
from hub.store.schema import messages, tickets

# The provider ids of a group already stored (`InboundStore.stored_already`), one channel at a time so that the look
# is a search of the (channel, provider_id) key, not a scan of every message; prepared once per power-of-two count.
STORED = PreparedIn(
    lambda ids: select(messages.c.provider_id)
    .where(and_(messages.c.channel == bindparam("channel"), messages.c.provider_id.in_(ids))),
    keys=("channel",), limit=GROUP)


@dataclass(slots=True)
class Claimed:
    """A plug-in took a customer message as the answer it was waiting for (a survey score, a check-in reply): the
    message joins `ticket_id` without moving its status, and `after` runs once the transaction has committed."""

    ticket_id: int
    after: Callable[[], Awaitable[None]] | None = None
    meta: dict[str, Any] | None = None


# async fn(conn, inbound, customer id, identity id, now) -> Claimed | None, inside the storing transaction.
Interceptor = Callable[[Any, Inbound, int, int, datetime], Awaitable[Claimed | None]]


@dataclass(slots=True)
class Checked:
    """Provider ids a group looked up before storing (`looked`), those found stored (`found`), and those stored by
    the group since (`stored`): a message whose id was looked up and is in neither needs no look of its own."""

    looked: set[tuple[str, str]]  # (channel, provider id), as `found` and `stored`
    found: set[tuple[str, str]]
    stored: set[tuple[str, str]] = field(default_factory=set)

    def is_new(self, inbound: Inbound) -> bool:
        key = (inbound.channel, inbound.provider_id)
        return key in self.looked and key not in self.found and key not in self.stored


@dataclass(slots=True)
class Stored:
    """One message stored (or found stored): what the intake does with it once the transaction has committed."""

    accepted: Accepted
    ticket: Ticket | None = None
    new_ticket: bool = False
    message: Any = None
    edited: bool = False
    remember: tuple[int, int] | None = None  # (customer, identity) to cache once the transaction committed
    moved: bool = False  # the message changed the ticket's status (reopened it, ended `pending`)
    claimed: Claimed | None = None
    opened: tuple[Ticket, RouteResult] | None = None  # a ticket opened for the review to finish (Placement.open)


class InboundStore:
    """Stores messages one at a time on a connection whose transaction the caller owns (hub.intake)."""

    def __init__(self, placement: Placement, known: KnownSenders, *, review_arms: Callable[[], bool]) -> None:
        self.placement, self.known = placement, known
        # Whether the review finishes the open of a ticket whose first message it reviews (a responder with
        # `submit`, which carries the route to it): then the open leaves the SLA jobs to the review.
        self.review_arms = review_arms
        # Asked before a message finds its ticket: an answer a plug-in was waiting for (hub.surveys) is claimed.
        # Not asked for a customer the message itself created: nothing can be waiting for one (no ticket yet).
        self.interceptors: list[Interceptor] = []
        # Whether a stored message waits for the responder's review (marked in its own transaction, see
        # hub.escalation); set by the hub.
        self.needs_review: Callable[[Inbound], bool] = lambda inbound: False

    async def stored_already(self, conn: Any, group: list[Inbound]) -> Checked | None:
        """One look for the provider ids of the group's messages that will not take the fast path (new senders,
        mail): the ids found are duplicates, the others need no look of their own.  The fast path's insert detects
        its own duplicates."""
        keys = {(inbound.channel, inbound.provider_id) for inbound in group if not self.known.continues_chat(inbound)}
        if len(keys) < 2:
            return None
        by_channel: dict[str, list[str]] = {}
        for channel, provider_id in keys:
            by_channel.setdefault(channel, []).append(provider_id)
        found: set[tuple[str, str]] = set()
        for channel, ids in by_channel.items():
            found.update((channel, r.provider_id) for r in (await STORED.run(conn, ids, {"channel": channel})).all())
        return Checked(keys, found)

    async def duplicate(self, conn: Any, channel: str, provider_id: str) -> Accepted | None:
        row = (
            await conn.execute(
                select(messages.c.id, messages.c.ticket_id, tickets.c.customer_id)
                .join(tickets, tickets.c.id == messages.c.ticket_id)
                .where(and_(messages.c.channel == channel, messages.c.provider_id == provider_id))
            )
        ).first()
        return None if row is None else Accepted(row.id, row.ticket_id, row.customer_id, duplicate=True)

    async def _fast(self, conn: Any, inbound: Inbound, now: datetime) -> Stored | None:
        """A known customer continuing an open ticket in a chat: two statements instead of eight.  Returns None
        when anything is unusual, and the caller takes the full path in the same transaction."""
        if inbound.edit_of or inbound.extra_identities or inbound.claims or inbound.thread_refs or inbound.ticket_hint is not None:
            return None
        if self.interceptors and "button" in inbound.flags:  # a pressed button may answer a survey elsewhere
            return None
        stored = await self.known.store(conn, inbound, now, self.needs_review)
        if stored is None:
            return None
        cid, ticket, msg = stored
        return Stored(Accepted(msg.id, ticket.id, cid), ticket, False, msg)

    async def store(self, conn: Any, inbound: Inbound, now: datetime, checked: Checked | None = None) -> Stored:
        fast = await self._fast(conn, inbound, now)
        if fast is not None:
            return fast
        # Whether the provider id may be stored already.  The group's look-up answers for the group's ids; without
        # one, the look waits until the sender is known: a message from a sender it creates cannot be a second
        # copy (the first would have created the sender).  Should the id exist all the same, the message insert
        # fails on the unique key, the transaction rolls back and `_store_alone` reports the first copy.
        look = checked is None or not checked.is_new(inbound)
        if look and (checked is not None or inbound.edit_of):
            dup = await self.duplicate(conn, inbound.channel, inbound.provider_id)
            if dup is not None:
                return Stored(dup)
            look = False
        if checked is not None:
            checked.stored.add((inbound.channel, inbound.provider_id))
        if inbound.edit_of:
            edited = await self._apply_edit(conn, inbound, now)
            if edited is not None:
                return edited
        cid, iid, created = await customer_store.resolve_sender(
            conn,
            inbound.sender,
            now,
            verified=inbound.sender_verified,
            name=inbound.sender_name,
            language=inbound.sender_lang,
            display=inbound.raw.get("display") if isinstance(inbound.raw, dict) else None,
        )
        if look and not created:
            dup = await self.duplicate(conn, inbound.channel, inbound.provider_id)
            if dup is not None:
                return Stored(dup)
        await customer_store.lock_customer(conn, cid)
        for extra in inbound.extra_identities:
            await customer_store.add_identity(conn, cid, extra, now)
        for claim in inbound.claims:
            await customer_store.add_identity(conn, cid, claim, now, verified=False)
        # A customer created just now has no ticket, survey or follow-up yet: nothing to look up.
        for hook in self.interceptors if not created else ():
            claimed = await hook(conn, inbound, cid, iid, now)
            if claimed is not None:
                return await self._store_claimed(conn, inbound, claimed, cid, now)
        ticket, why, new, parent = await self.placement.find(conn, inbound, cid, iid, now, new_customer=created)
        before = ticket.status if ticket is not None else None
        review = self.needs_review(inbound)
        opened: tuple[Ticket, RouteResult] | None = None
        if ticket is None:
            # The review finishes the open only through a responder's `submit`, which carries the route to it.
            defer = review and self.review_arms()
            ticket, route = await self.placement.open(conn, inbound, cid, iid, now, parent, why, new_customer=created,
                                                      review=defer)
            opened = (ticket, route) if defer else None
        else:
            ticket = await self.placement.resume(conn, ticket, inbound, now, why, iid)
        meta = {k: v for k, v in (("subject", inbound.subject), ("refs", list(inbound.thread_refs)), ("flags", sorted(inbound.flags))) if v}
        msg = await ticket_store.insert_message(
            conn,
            ticket_id=ticket.id,
            direction=Direction.IN,
            author=Author.CUSTOMER,
            text=inbound.text,
            html=inbound.html,
            channel=inbound.channel,
            at=inbound.received_at if inbound.received_at <= now else now,
            provider_id=inbound.provider_id,
            attachments=inbound.attachments,
            meta=meta,
            raw=inbound.raw or None,
            review_pending=review,
        )
        moved = before is not None and before != ticket.status
        if moved:
            facts.note("updated", ticket.id)
        remember = (cid, iid) if inbound.sender_verified else None  # a form's address is no key to a customer
        return Stored(Accepted(msg.id, ticket.id, cid), ticket, new, msg, remember=remember, moved=moved,
                       opened=opened)

    async def _store_claimed(self, conn: Any, inbound: Inbound, claimed: Claimed, cid: int, now: datetime) -> Stored:
        meta = {k: v for k, v in (("flags", sorted(inbound.flags)),) if v} | (claimed.meta or {})
        msg = await ticket_store.insert_message(
            conn, ticket_id=claimed.ticket_id, direction=Direction.IN, author=Author.CUSTOMER, text=inbound.text,
            html=inbound.html, channel=inbound.channel, at=inbound.received_at if inbound.received_at <= now else now,
            provider_id=inbound.provider_id, attachments=inbound.attachments, meta=meta, raw=inbound.raw or None,
        )
        ticket = await ticket_store.get_ticket(conn, claimed.ticket_id)
        return Stored(Accepted(msg.id, ticket.id, cid), ticket, False, msg, claimed=claimed)

    async def _apply_edit(self, conn: Any, inbound: Inbound, now: datetime) -> Stored | None:
        row = (
            await conn.execute(
                select(messages, tickets.c.customer_id)
                .join(tickets, tickets.c.id == messages.c.ticket_id)
                .where(and_(messages.c.channel == inbound.channel, messages.c.provider_id == inbound.edit_of))
            )
        ).first()
        if row is None:
            return None  # the original never reached us: store the edit as a message of its own
        edits = list(row.edits or [])
        if any(e.get("provider_id") == inbound.provider_id for e in edits):
            return Stored(Accepted(row.id, row.ticket_id, row.customer_id, duplicate=True))
        edits.append({"text": row.text, "provider_id": inbound.provider_id, "at": now.isoformat()})
        await conn.execute(
            update(messages).where(messages.c.id == row.id).values(text=inbound.text, edits=edits, edited_at=now)
        )
        msg = records.message((await conn.execute(select(messages).where(messages.c.id == row.id))).one())
        ticket = await ticket_store.get_ticket(conn, row.ticket_id)
        return Stored(Accepted(row.id, row.ticket_id, row.customer_id), ticket, False, msg, edited=True)
