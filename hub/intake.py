"""Inbound -> stored message on the right ticket, exactly once.

`deliver` commits before it returns, so a channel acknowledges its provider only after the message is safe.
(channel, provider_id) is unique: a redelivered update, a re-fetched mail or a resent widget frame returns the
first result and changes nothing.

Messages that arrive in the same turn of the event loop share one transaction (group commit), under load those of
the next `database.group_wait_ms` too, and a mailbox's fetch is stored in its order (`deliver_many`).  Which ticket
a message goes on, or opens, is hub.placement's, and what happens to each message inside the transaction is
hub.inbound_store's.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from hub.clock import Clock
from hub.config import Config
from hub.domain import Accepted, Inbound, NotAttempted
from hub.events import Events
from hub.grouping import BATCH_GROUP, Gathering
from hub.inbound_store import InboundStore, Interceptor, Stored
from hub.known_senders import KnownSenders, Redelivered
from hub.metrics import DUPLICATES, INBOUND
from hub.placement import ChangeHook, OpenedHook, Placement
from hub.ports import NoResponder, Responder, Router
from hub.store.db import CUSTOMERS, Database
from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.intake")


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
        self._tasks: set[asyncio.Task[None]] = set()
        self.known = KnownSenders(conversational)  # the hot path of chat senders seen before
        self.store = InboundStore(self.placement, self.known,
                                  review_arms=lambda: getattr(self.responder, "submit", None) is not None)
        # The plug-ins' claims on a message (hub.surveys): the store's list, filled by the hub.
        self.interceptors: list[Interceptor] = self.store.interceptors
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
        stored: list[Stored | BaseException] | None = None
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

    async def _finish(self, inbound: Inbound, fut: asyncio.Future[Accepted], result: Stored | BaseException) -> None:
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

    async def _store_group(self, group: list[Inbound]) -> list[Stored | BaseException]:
        now = self.clock.now()
        async with self.db.write(CUSTOMERS) as conn:
            checked = await self.store.stored_already(conn, group)
            return [await self.store.store(conn, inbound, now, checked) for inbound in group]

    async def _store_alone(self, inbound: Inbound) -> Stored:
        now = self.clock.now()
        try:
            async with self.db.write(CUSTOMERS) as conn:
                return await self.store.store(conn, inbound, now)
        except (IntegrityError, Redelivered):
            # Another process stored the same provider message a moment ago: report that one.
            async with self.db.read() as conn:
                dup = await self.store.duplicate(conn, inbound.channel, inbound.provider_id)
            if dup is None:
                raise
            return Stored(dup)

    async def _after_commit(self, inbound: Inbound, stored: Stored) -> Accepted:
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

