"""Inbound -> stored message on the right ticket, exactly once.

`deliver` commits before it returns, so a channel acknowledges its provider only after the message is safe.
(channel, provider_id) is unique: a redelivered update, a re-fetched mail or a resent widget frame returns the
first result and changes nothing.

Messages that arrive in the same turn of the event loop share one transaction (group commit), under load those of
the next `database.group_wait_ms` too, and a mailbox's fetch is stored in its order (`deliver_many`).  Which ticket
a message goes on, or opens, is hub.placement's; a known chat sender's next message takes hub.known_senders'
two-statement path.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from hub.clock import Clock
from hub.config import Config
from hub.domain import Accepted, Author, Direction, Inbound, NotAttempted, Ticket
from hub.events import Events
from hub.grouping import BATCH_GROUP, GROUP, Gathering
from hub.known_senders import KnownSenders, Redelivered
from hub.metrics import DUPLICATES, INBOUND
from hub.placement import ChangeHook, OpenedHook, Placement
from hub.ports import NoResponder, Responder, RouteResult, Router
from hub.store import customers as customer_store
from hub.store import facts, records
from hub.store import tickets as ticket_store
from hub.store.db import CUSTOMERS, Database
from hub.store.prepared import PreparedIn
from hub.store.schema import messages, tickets
from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.intake")


# The provider ids of a group already stored (`_stored_already`), one channel at a time so that the look is a search of
# the (channel, provider_id) key, not a scan of every message; prepared once per power-of-two count.
_STORED = PreparedIn(
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
class _Checked:
    """Provider ids a group looked up before storing (`looked`), those found stored (`found`), and those stored by
    the group since (`stored`): a message whose id was looked up and is in neither needs no look of its own."""

    looked: set[tuple[str, str]]  # (channel, provider id), as `found` and `stored`
    found: set[tuple[str, str]]
    stored: set[tuple[str, str]] = field(default_factory=set)

    def is_new(self, inbound: Inbound) -> bool:
        key = (inbound.channel, inbound.provider_id)
        return key in self.looked and key not in self.found and key not in self.stored


@dataclass(slots=True)
class _Stored:
    accepted: Accepted
    ticket: Ticket | None = None
    new_ticket: bool = False
    message: Any = None
    edited: bool = False
    remember: tuple[int, int] | None = None  # (customer, identity) to cache once the transaction committed
    moved: bool = False  # the message changed the ticket's status (reopened it, ended `pending`)
    claimed: Claimed | None = None
    opened: tuple[Ticket, RouteResult] | None = None  # a ticket opened for the review to finish (Placement.open)


class Intake:
    def __init__(
        self,
        db: Database,
        events: Events,
        config: Config,
        router: Router,
        clock: Clock,
        *,
        conversational: Callable[[str], bool] = lambda channel: True,
        bot_enabled: Callable[[str], bool] = lambda channel: False,
    ) -> None:
        self.db, self.events, self.config, self.router, self.clock = db, events, config, router, clock
        self.conversational = conversational
        # The ticket a message continues or opens; its hooks are the hub's to fill (`on_ticket_opened`, ...).
        self.placement = Placement(config, router, conversational=conversational, bot_enabled=bot_enabled)
        self.on_ticket_opened: list[OpenedHook] = self.placement.on_ticket_opened
        self.on_ticket_change: list[ChangeHook] = self.placement.on_ticket_change
        self.responder: Responder = NoResponder()
        # Asked before a message finds its ticket: an answer a plug-in was waiting for (hub.surveys) is claimed.
        # Not asked for a customer the message itself created: nothing can be waiting for one (no ticket yet).
        self.interceptors: list[Interceptor] = []
        # Whether a stored message waits for the responder's review (marked in its own transaction, see
        # hub.escalation); set by the hub.
        self.needs_review: Callable[[Inbound], bool] = lambda inbound: False
        self._tasks: set[asyncio.Task[None]] = set()
        self.known = KnownSenders(conversational)  # the hot path of chat senders seen before
        self._pending: list[tuple[Inbound, asyncio.Future[Accepted]]] = []
        self._committers: set[asyncio.Task[None]] = set()
        # How many pending messages the next group takes, and how long it waits for more (hub.grouping).
        self.gathering = Gathering(self.known.continues_chat, lambda: self.config.database.group_wait_ms)

    @property
    def reopen_to_bot(self) -> Callable[[str], bool]:
        return self.placement.reopen_to_bot

    @reopen_to_bot.setter
    def reopen_to_bot(self, fn: Callable[[str], bool]) -> None:
        self.placement.reopen_to_bot = fn

    async def deliver(self, inbound: Inbound) -> Accepted:
        """Store `inbound` and return once it is committed.  Messages that arrive in the same turn of the event loop
        share one transaction (group commit): each caller still returns only after the commit that holds its
        message, and the group waits behind staff writers (hub.store.db lanes)."""
        fut: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._pending.append((inbound, fut))
        # SQLite has one writer, so one committer; PostgreSQL commits groups on several connections at once, each
        # group's round trips overlapping the others'.
        if sum(not t.done() for t in self._committers) < self.db.customer_writers:
            task = asyncio.create_task(self._commit_groups(), name="intake-commit")
            self._committers.add(task)
            task.add_done_callback(self._committers.discard)
        return await fut

    async def deliver_many(self, inbounds: Sequence[Inbound]) -> list[Accepted | BaseException]:
        """Store messages read together (a mailbox's fetch) in their order, GROUP to a transaction, and return once
        all are committed: each result is the message's Accepted or the exception that kept it from being stored.
        The groups commit one after another, so a mail that replies to an earlier one of the batch finds it, on
        PostgreSQL too (where `deliver`'s groups may commit side by side).  Nothing is stored ahead of a message
        that could not be: the messages after it fail with `NotAttempted`."""
        loop = asyncio.get_running_loop()
        out: list[Accepted | BaseException] = []
        for start in range(0, len(inbounds), BATCH_GROUP):
            group = [(inbound, loop.create_future()) for inbound in inbounds[start : start + BATCH_GROUP]]
            if any(isinstance(r, BaseException) for r in out):
                out += [NotAttempted("an earlier message of the batch could not be stored")] * len(group)
                continue
            await self._commit_group(group, in_order=True)
            out += [fut.exception() or fut.result() for _, fut in group]
            # Between groups the loop serves everything else first, as between the chat's groups: agents' requests,
            # and the mailbox's next FETCH and the parser's answer, which wait on the loop while a group is stored.
            await asyncio.sleep(0)
        return out

    async def _commit_groups(self) -> None:
        while self._pending:
            await self._gather()
            if not self._pending:  # another committer (PostgreSQL) took them meanwhile
                return
            n, _ = self.gathering.counts(self._pending)
            group, self._pending = self._pending[:n], self._pending[n:]
            try:
                await self._commit_group(group)
            except asyncio.CancelledError:
                for _, fut in group:  # the hub is stopping: whatever was not acknowledged is resent by its sender
                    if not fut.done():
                        fut.set_exception(ConnectionAbortedError("the hub is stopping"))
                raise
            self.gathering.committed(len(group), asyncio.get_running_loop().time())
            # Between groups the loop serves everything else first: acks, agent requests, the next frames.
            await asyncio.sleep(0)

    async def _gather(self) -> None:
        wait = self.gather_wait()
        if wait > 0:
            await asyncio.sleep(wait)

    def gather_wait(self) -> float:
        """Seconds the next group would wait to gather (0: store at once): see hub.grouping."""
        return self.gathering.wait(self._pending, asyncio.get_running_loop().time())

    async def _commit_group(self, group: list[tuple[Inbound, asyncio.Future[Accepted]]], *, in_order: bool = False) -> None:
        """`in_order`: a message that cannot be stored stops the group there; the ones after it fail with
        `NotAttempted`, so nothing is stored ahead of an earlier message."""
        stored: list[_Stored | BaseException] | None = None
        if len(group) > 1:
            try:
                stored = await self._store_group([inbound for inbound, _ in group])
            except OperationalError as exc:  # the database is unavailable: every message of the group fails
                stored = [exc] * len(group)
            except Exception:  # one message broke the group (a duplicate racing another process, bad data)
                stored = None
        if stored is None:  # each alone, so one message cannot sink the others
            stored = []
            for inbound, _ in group:
                if in_order and any(isinstance(r, BaseException) for r in stored):
                    stored.append(NotAttempted("an earlier message of the batch could not be stored"))
                    continue
                try:
                    stored.append(await self._store_alone(inbound))
                except Exception as exc:
                    stored.append(exc)
        if getattr(self.events.bus, "remote", False) and len(group) > 1:
            # Each event waits for a Redis round trip: the group's events share round trips (one pipeline).
            await asyncio.gather(*(self._finish(inbound, fut, result) for (inbound, fut), result in zip(group, stored)))
        else:
            for (inbound, fut), result in zip(group, stored):
                await self._finish(inbound, fut, result)

    async def _finish(self, inbound: Inbound, fut: asyncio.Future[Accepted], result: _Stored | BaseException) -> None:
        """After the commit: events, the responder, then the caller's answer (the channel's acknowledgement)."""
        if isinstance(result, BaseException):
            if not fut.done():
                fut.set_exception(result)
            return
        try:
            accepted = await self._after_commit(inbound, result)
        except Exception as exc:  # stored all the same, but the caller learns that something after it failed
            log.exception("after storing a %s message", inbound.channel)
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(accepted)

    async def _store_group(self, group: list[Inbound]) -> list[_Stored | BaseException]:
        now = self.clock.now()
        async with self.db.write(CUSTOMERS) as conn:
            checked = await self._stored_already(conn, group)
            return [await self._store(conn, inbound, now, checked) for inbound in group]

    async def _stored_already(self, conn: Any, group: list[Inbound]) -> _Checked | None:
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
            found.update((channel, r.provider_id) for r in (await _STORED.run(conn, ids, {"channel": channel})).all())
        return _Checked(keys, found)

    async def _store_alone(self, inbound: Inbound) -> _Stored:
        now = self.clock.now()
        try:
            async with self.db.write(CUSTOMERS) as conn:
                return await self._store(conn, inbound, now)
        except (IntegrityError, Redelivered):
            # Another process stored the same provider message a moment ago: report that one.
            async with self.db.read() as conn:
                dup = await self._duplicate(conn, inbound.channel, inbound.provider_id)
            if dup is None:
                raise
            return _Stored(dup)

    async def _after_commit(self, inbound: Inbound, stored: _Stored) -> Accepted:
        if stored.remember is not None:  # only after commit: a rolled-back id must never be cached
            self.known.remember(inbound, *stored.remember, stored.ticket)
        if stored.accepted.duplicate:
            DUPLICATES.labels(inbound.channel).inc()
            return stored.accepted
        INBOUND.labels(inbound.channel).inc()
        if stored.ticket is not None:
            if stored.new_ticket:
                await self.events.ticket("ticket.created", stored.ticket)
            if stored.message is not None:
                await self.events.message(stored.message, stored.ticket)
            # message.created already carries the ticket; a separate update only when the status moved.
            if stored.moved:
                await self.events.ticket("ticket.updated", stored.ticket)
            if stored.claimed is not None:
                # After the channel's acknowledgement, like a responder: the customer's answer shows before the
                # reply to it, and nothing that follows can fail the ack.
                if stored.claimed.after is not None:
                    self._spawn(stored.claimed.after())
                return stored.accepted
            if not stored.edited and not isinstance(self.responder, NoResponder):
                submit = getattr(self.responder, "submit", None)
                if submit is None:
                    self._spawn(self.responder.on_customer_message(stored.accepted, inbound, stored.new_ticket))
                elif (follow := submit(stored.accepted, inbound, stored.new_ticket, opened=stored.opened)) is not None:
                    self._spawn(follow)  # only the bot needs a task per message; the review is queued
        return stored.accepted

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("responder failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for responders started so far (tests, shutdown)."""
        drain = getattr(self.responder, "drain", None)
        while True:
            if drain is not None:
                await drain()
            if not self._tasks:
                return
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        await cancel_and_wait(*self._committers)
        for _, fut in self._pending:  # never stored: the channel does not acknowledge them, the provider resends
            if not fut.done():
                fut.set_exception(ConnectionAbortedError("the hub is stopping"))
        self._pending = []
        await cancel_and_wait(*self._tasks)

    async def _duplicate(self, conn: Any, channel: str, provider_id: str) -> Accepted | None:
        row = (
            await conn.execute(
                select(messages.c.id, messages.c.ticket_id, tickets.c.customer_id)
                .join(tickets, tickets.c.id == messages.c.ticket_id)
                .where(and_(messages.c.channel == channel, messages.c.provider_id == provider_id))
            )
        ).first()
        return None if row is None else Accepted(row.id, row.ticket_id, row.customer_id, duplicate=True)

    async def _fast(self, conn: Any, inbound: Inbound, now: datetime) -> _Stored | None:
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
        return _Stored(Accepted(msg.id, ticket.id, cid), ticket, False, msg)

    async def _store(self, conn: Any, inbound: Inbound, now: datetime, checked: _Checked | None = None) -> _Stored:
        fast = await self._fast(conn, inbound, now)
        if fast is not None:
            return fast
        # Whether the provider id may be stored already.  The group's look-up answers for the group's ids; without
        # one, the look waits until the sender is known: a message from a sender it creates cannot be a second
        # copy (the first would have created the sender).  Should the id exist all the same, the message insert
        # fails on the unique key, the transaction rolls back and `_store_alone` reports the first copy.
        look = checked is None or not checked.is_new(inbound)
        if look and (checked is not None or inbound.edit_of):
            dup = await self._duplicate(conn, inbound.channel, inbound.provider_id)
            if dup is not None:
                return _Stored(dup)
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
            dup = await self._duplicate(conn, inbound.channel, inbound.provider_id)
            if dup is not None:
                return _Stored(dup)
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
            defer = review and getattr(self.responder, "submit", None) is not None
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
        return _Stored(Accepted(msg.id, ticket.id, cid), ticket, new, msg, remember=remember, moved=moved,
                       opened=opened)

    async def _store_claimed(self, conn: Any, inbound: Inbound, claimed: Claimed, cid: int, now: datetime) -> _Stored:
        meta = {k: v for k, v in (("flags", sorted(inbound.flags)),) if v} | (claimed.meta or {})
        msg = await ticket_store.insert_message(
            conn, ticket_id=claimed.ticket_id, direction=Direction.IN, author=Author.CUSTOMER, text=inbound.text,
            html=inbound.html, channel=inbound.channel, at=inbound.received_at if inbound.received_at <= now else now,
            provider_id=inbound.provider_id, attachments=inbound.attachments, meta=meta, raw=inbound.raw or None,
        )
        ticket = await ticket_store.get_ticket(conn, claimed.ticket_id)
        return _Stored(Accepted(msg.id, ticket.id, cid), ticket, False, msg, claimed=claimed)

    async def _apply_edit(self, conn: Any, inbound: Inbound, now: datetime) -> _Stored | None:
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
            return _Stored(Accepted(row.id, row.ticket_id, row.customer_id, duplicate=True))
        edits.append({"text": row.text, "provider_id": inbound.provider_id, "at": now.isoformat()})
        await conn.execute(
            update(messages).where(messages.c.id == row.id).values(text=inbound.text, edits=edits, edited_at=now)
        )
        msg = records.message((await conn.execute(select(messages).where(messages.c.id == row.id))).one())
        ticket = await ticket_store.get_ticket(conn, row.ticket_id)
        return _Stored(Accepted(row.id, row.ticket_id, row.customer_id), ticket, False, msg, edited=True)
