"""The intake's hot path: a verified chat sender continuing the open ticket of their conversation, stored with two
statements (touch the ticket, insert the message) instead of the full path's seven or eight.

`KnownSenders` caches (channel, external id) -> (customer, identity) and each identity's current ticket once a
transaction that stored their message has committed.  Both are hints, never truth: the UPDATE re-checks the
ticket's customer, identity and status, so a merge (the one thing that moves an identity to another customer), a
resolved ticket or a cleared cache only sends the message down the full path.
Imports the store's schema and records.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, literal_column, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.domain import Author, Direction, Inbound, Message, Status, Ticket
from hub.store import facts, records
from hub.store import tickets as ticket_store
from hub.store.prepared import Prepared
from hub.store.schema import messages, tickets

__all__ = ["KnownSenders", "Redelivered"]

# Open statuses a customer message leaves unchanged (a `pending` ticket moves, so it takes the full path).
_STEADY = (Status.BOT.value, Status.QUEUED.value, Status.ASSIGNED.value)
CAP = 200_000  # cached senders; past it the caches start again (a cold cache only costs the full path)

# The two statements, built and compiled once (hub.store.prepared): building a statement costs more CPU than SQLite
# takes to run it.  The status list is literal, so the statement needs no per-execution expansion of an IN list.
_TOUCH = Prepared(
    update(tickets)
    .where(and_(tickets.c.id == bindparam("tid"), tickets.c.customer_id == bindparam("cid"),
                tickets.c.identity_id == bindparam("iid"),
                or_(*(tickets.c.status == literal_column(f"'{s}'") for s in _STEADY))))
    .values(updated_at=bindparam("now", type_=tickets.c.updated_at.type))
    .returning(*ticket_store.TICKET_ROW),  # what a Ticket is made of, no JSON to decode
    ("tid", "cid", "iid", "now"),
)
_MESSAGE_KEYS = ("ticket_id", "direction", "author", "text", "html", "channel", "created_at", "provider_id",
                 "attachments", "automatic", "meta", "raw", "edits", "review_pending")
_INSERT_IN = {  # keyed by "is PostgreSQL"
    pg: Prepared(
        (pg_insert if pg else sqlite_insert)(messages)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(messages.c.id),
        _MESSAGE_KEYS,
    )
    for pg in (False, True)
}


class Redelivered(Exception):
    """The provider id is stored already: roll back and report the first copy."""


class KnownSenders:
    def __init__(self, conversational: Callable[[str], bool]) -> None:
        self.conversational = conversational
        self._idents: dict[tuple[str, str], tuple[int, int]] = {}
        self._current: dict[int, int] = {}  # identity -> its current ticket
        self._profiled: set[int] = set()  # customers whose name/language no longer need filling

    def remember(self, inbound: Inbound, cid: int, iid: int, ticket: Ticket | None) -> None:
        """Only after commit: a rolled-back id must never be cached."""
        if len(self._idents) > CAP:
            self._idents.clear()
            self._current.clear()
            self._profiled.clear()
        self._idents[(inbound.sender.channel, inbound.sender.external_id)] = (cid, iid)
        self._profiled.add(cid)
        if ticket is not None and ticket.channel == inbound.channel and ticket.identity_id == iid:
            self._current[iid] = ticket.id

    def continues_chat(self, inbound: Inbound) -> bool:
        """A known sender with a current chat ticket: the message will most likely take the fast path."""
        ids = self._idents.get((inbound.sender.channel, inbound.sender.external_id))
        return ids is not None and ids[1] in self._current and self.conversational(inbound.channel)

    async def store(self, conn: Any, inbound: Inbound, now: datetime,
                    needs_review: Callable[[Inbound], bool]) -> tuple[int, Ticket, Message] | None:
        """(customer id, ticket, message) once stored, or None when the cache does not know the sender's current
        ticket or the ticket no longer takes messages as they come; then nothing was written.  Raises
        `Redelivered` when the provider id is stored already.  The caller has ruled out what the fast path does
        not handle (edits, thread references, claims)."""
        ids = self._idents.get((inbound.sender.channel, inbound.sender.external_id))
        if ids is None or ((inbound.sender_name or inbound.sender_lang) and ids[0] not in self._profiled):
            return None
        tid = self._current.get(ids[1])
        if tid is None or not self.conversational(inbound.channel):
            return None
        row = (await _TOUCH.run(conn, {"tid": tid, "cid": ids[0], "iid": ids[1], "now": now})).first()
        if row is None:
            return None
        meta = {"flags": sorted(inbound.flags)} if inbound.flags else {}
        at = inbound.received_at if inbound.received_at <= now else now
        mid = (
            await _INSERT_IN[conn.dialect.name == "postgresql"].run(
                conn,
                {
                    "ticket_id": tid, "direction": Direction.IN.value, "author": Author.CUSTOMER.value,
                    "text": inbound.text, "html": inbound.html, "channel": inbound.channel, "created_at": at,
                    "provider_id": inbound.provider_id, "attachments": [asdict(a) for a in inbound.attachments],
                    "automatic": False, "meta": meta, "raw": inbound.raw or None, "edits": [],
                    "review_pending": needs_review(inbound) or None,
                },
            )
        ).scalar()
        if mid is None:
            raise Redelivered()
        facts.note("message", mid)  # as ticket_store.insert_message does: its webhook commits with it
        msg = Message(
            id=mid, ticket_id=tid, direction=Direction.IN, author=Author.CUSTOMER, text=inbound.text,
            channel=inbound.channel, created_at=at, delivery=None, provider_id=inbound.provider_id,
            html=inbound.html, attachments=inbound.attachments,
        )
        return ids[0], records.ticket(row), msg
