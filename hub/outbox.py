"""Delivering stored outgoing messages through the ticket's channel, with retry and backoff.

A reply is committed together with its outbox row; this sender then claims the row (a conditional UPDATE with an
expiring lock, so two processes never send the same row and a crashed sender's row is taken over), sends it and
records the outcome on the message.  A delivery that keeps failing is marked failed and shown, never dropped.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update

from channels.base import Channel, PermanentError, RetryAfter, SendError, Unreachable
from hub import periodic
from hub.clock import Clock
from hub.config import OutboxConfig
from hub.domain import Author, Button, Identity, Outbound, provider_key
from hub.events import Events
from hub.metrics import DELIVERIES
from hub.serialize import message_json
from hub.store import customers as customer_store
from hub.store import records
from hub.store import tickets as ticket_store
from hub.store.db import Database
from hub.store.prepared import Prepared, bound_values
from hub.store.schema import agents, messages, outbox, tickets

log = logging.getLogger("hub.outbox")

# Every reply goes through these, each built and prepared once (hub.store.prepared): SQLAlchemy's execution around
# them cost more than the statements, on the path from an agent's reply to the customer.
_CLAIM = Prepared(
    update(outbox)
    .where(and_(outbox.c.id == bindparam("oid"), outbox.c.state == "pending",
                outbox.c.next_attempt_at <= bindparam("now"),
                or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < bindparam("now"))))
    .values(locked_until=bindparam("until", type_=outbox.c.locked_until.type), attempts=outbox.c.attempts + 1),
    ("oid", "now", "until"),
)
_LOAD = Prepared(
    select(outbox.c.attempts, messages, tickets.c.subject, tickets.c.id.label("tid"), agents.c.name.label("agent_name"))
    .select_from(outbox.join(messages, messages.c.id == outbox.c.message_id))
    .join(tickets, tickets.c.id == messages.c.ticket_id)
    .outerjoin(agents, agents.c.id == messages.c.agent_id)
    .where(outbox.c.id == bindparam("oid")),
    ("oid",),
)
_FINISH = Prepared(
    update(outbox).where(outbox.c.id == bindparam("oid")).values(
        state=bindparam("state", type_=outbox.c.state.type), locked_until=None,
        last_error=bindparam("error", type_=outbox.c.last_error.type)),
    ("oid", "state", "error"),
)


@functools.lru_cache(maxsize=8)
def _delivered(columns: tuple[str, ...]) -> Prepared:
    """A message's delivery columns set (with or without the provider's id), the row returned."""
    return Prepared(update(messages).where(messages.c.id == bindparam("mid")).values(**bound_values(messages, columns))
                    .returning(*messages.c), ("mid", *(f"v_{c}" for c in columns)))


class Outbox:
    def __init__(
        self, db: Database, events: Events, config: OutboxConfig, clock: Clock, channels: Mapping[str, Channel]
    ) -> None:
        self.db, self.events, self.config, self.clock, self.channels = db, events, config, clock, channels
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._limit = asyncio.Semaphore(64)
        self.lock = timedelta(seconds=config.lock_timeout)
        # Rows this process is sending now.  The expiring lock lets another process take over a crashed sender's
        # row; it must not let this process's own sweeper take a row still in flight when the wall clock steps
        # forward past the lock (NTP, a resumed VM or laptop), which would send it twice.
        self._inflight: set[int] = set()

    def kick(self, outbox_id: int, *, claimed: bool = False) -> None:
        """Try a freshly committed row at once, in this process (the sweeper is the safety net).  `claimed`: the
        row was written already claimed by this process (see `enqueue_outbound`)."""
        task = asyncio.create_task(self.attempt(outbox_id, claimed=claimed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resend(self, message_id: int) -> bool:
        """Sends a failed message again (an agent asked, e.g. once its channel is switched on): the row goes back to
        pending with fresh attempts.  Only a failed row moves, in one statement, so two clicks send it once."""
        now = self.clock.now()
        async with self.db.write() as conn:
            row = (await conn.execute(select(outbox.c.id).where(and_(outbox.c.message_id == message_id, outbox.c.state == "failed")))).first()
            if row is None:
                return False
            moved = await conn.execute(
                update(outbox).where(and_(outbox.c.id == row.id, outbox.c.state == "failed"))
                .values(state="pending", attempts=0, next_attempt_at=now, locked_until=None, last_error=None))
            if moved.rowcount != 1:
                return False
            await conn.execute(update(messages).where(messages.c.id == message_id).values(delivery="pending", delivery_error=None))
            msg = records.message((await conn.execute(select(messages).where(messages.c.id == message_id))).one())
        await self.events.raw({"type": "message.updated", "message": message_json(msg)})
        self.kick(row.id)
        return True

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(
            periodic.repeat(self.sweep, lambda: self.config.sweep_interval, "outbox sweep"), name="outbox-sweeper")

    async def stop(self) -> None:
        await periodic.cancel_and_wait(self._sweeper)
        await asyncio.gather(*self._tasks, return_exceptions=True)  # deliveries already started finish

    async def drain(self) -> None:
        await periodic.drain(self._tasks)

    async def sweep(self, limit: int = 100) -> int:
        now = self.clock.now()
        if not self.db.is_sqlite:
            return await self._sweep_locked(now, limit)
        async with self.db.read() as conn:
            ids = (
                await conn.execute(
                    select(outbox.c.id)
                    .where(
                        and_(
                            outbox.c.state == "pending",
                            outbox.c.next_attempt_at <= now,
                            or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < now),
                        )
                    )
                    .order_by(outbox.c.next_attempt_at)
                    .limit(limit)
                )
            ).scalars().all()
        ids = [i for i in ids if i not in self._inflight]
        await asyncio.gather(*(self.attempt(i) for i in ids))
        return len(ids)

    async def _sweep_locked(self, now: datetime, limit: int) -> int:
        """PostgreSQL: lock and claim a batch in one statement; rows another sweeper holds are skipped, not waited on."""
        due = and_(
            outbox.c.state == "pending",
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < now),
        )
        if self._inflight:
            due = and_(due, outbox.c.id.notin_(list(self._inflight)))
        batch = select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
        async with self.db.write() as conn:
            ids = (
                await conn.execute(
                    update(outbox)
                    .where(and_(outbox.c.id.in_(batch.scalar_subquery()), due))
                    .values(locked_until=now + self.lock, attempts=outbox.c.attempts + 1)
                    .returning(outbox.c.id)
                )
            ).scalars().all()
        await asyncio.gather(*(self.attempt(i, claimed=True) for i in ids))
        return len(ids)

    async def _claim(self, outbox_id: int) -> bool:
        now = self.clock.now()
        async with self.db.write() as conn:
            res = await _CLAIM.run(conn, {"oid": outbox_id, "now": now, "until": now + self.lock})
            return res.rowcount == 1

    async def _load(self, outbox_id: int) -> tuple[Outbound, int, str | None]:
        async with self.db.read() as conn:
            row = (await _LOAD.run(conn, {"oid": outbox_id})).one()
            to = await ticket_store.recipient(conn, row.tid, (row.meta or {}).get("identity_id"))
            channel = self.channels.get(row.channel)
            threaded = channel is not None and channel.capabilities.thread_refs
            refs = await ticket_store.thread_refs(conn, row.tid, row.channel) if threaded else ()
        if to is None:
            raise PermanentError("the ticket has no customer address on its channel")
        meta = row.meta or {}
        out = Outbound(
            outbox_id=outbox_id,
            message_id=row.id,
            ticket_id=row.tid,
            channel=row.channel,
            recipient=Identity(to[0], to[1]),
            text=row.text,
            author=Author(row.author),
            author_name=row.agent_name,
            html=row.html,
            subject=row.subject,
            buttons=tuple(Button(**b) for b in meta.get("buttons", ())),
            attachments=records.attachments(row.attachments),
            thread_refs=refs,
            automatic=row.automatic,
            created_at=row.created_at,
            unsubscribe_token=(meta.get("unsubscribe") or {}).get("token"),
            unsubscribe_url=(meta.get("unsubscribe") or {}).get("url"),
        )
        return out, row.attempts, to[2]

    async def attempt(self, outbox_id: int, *, claimed: bool = False) -> None:
        async with self._limit:
            if outbox_id in self._inflight:  # being sent by this process right now (see `_inflight`)
                return
            if not claimed and not await self._claim(outbox_id):
                return
            # Marked only once claimed: an attempt that loses the claim must not hide the row from the sweeper.
            self._inflight.add(outbox_id)
            try:
                await self._send(outbox_id)
            finally:
                self._inflight.discard(outbox_id)

    async def _send(self, outbox_id: int) -> None:
        error: SendError | None = None
        out: Outbound | None = None
        try:
            out, attempts, _ = await self._load(outbox_id)
            channel = self.channels.get(out.channel)
            if channel is None:
                raise PermanentError(f"channel {out.channel!r} is not enabled")
            result = await channel.send(out)
        except SendError as exc:
            error = exc
        except Exception as exc:  # a bug or a network error in a channel: retry like any failure
            log.warning("send via outbox %s failed: %r", outbox_id, exc)
            error = SendError(str(exc) or type(exc).__name__)
        if error is None and out is not None:
            await self._finish(outbox_id, out.message_id, "sent", None, result.provider_id)
            DELIVERIES.labels(out.channel, "sent").inc()
            return
        assert error is not None
        await self._failed(outbox_id, out, error)

    async def _failed(self, outbox_id: int, out: Outbound | None, error: SendError) -> None:
        now = self.clock.now()
        async with self.db.read() as conn:
            row = (await conn.execute(select(outbox.c.attempts, outbox.c.message_id, outbox.c.channel).where(outbox.c.id == outbox_id))).one()
        permanent = isinstance(error, PermanentError) or row.attempts >= self.config.max_attempts
        if isinstance(error, RetryAfter) and not permanent:
            delay = max(error.seconds, 0.0)
        else:
            delay = min(self.config.backoff_base * (2 ** (row.attempts - 1)), self.config.backoff_max)
        if not permanent:
            async with self.db.write() as conn:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == outbox_id)
                    .values(next_attempt_at=now + timedelta(seconds=delay), locked_until=None, last_error=str(error)[:1000])
                )
            DELIVERIES.labels(row.channel, "retry").inc()
            return
        if isinstance(error, Unreachable) and out is not None:
            async with self.db.write() as conn:
                await customer_store.mark_unreachable(conn, out.recipient, str(error))
                await ticket_store.add_trace(conn, out.ticket_id, now, "unreachable", f"{out.channel}: {error}")
        await self._finish(outbox_id, row.message_id, "failed", str(error) or type(error).__name__, None)
        DELIVERIES.labels(row.channel, "failed").inc()

    async def _finish(self, outbox_id: int, message_id: int, state: str, error: str | None, provider_id: str | None) -> None:
        msg_values: dict[str, Any] = {"delivery": state, "delivery_error": error and error[:1000]}
        if provider_id:
            msg_values["provider_id"] = provider_key(provider_id)
        async with self.db.write() as conn:
            await _FINISH.run(conn, {"oid": outbox_id, "state": state, "error": error and error[:1000]})
            msg = records.message((await _delivered(tuple(msg_values)).run(
                conn, {"mid": message_id, **{f"v_{k}": v for k, v in msg_values.items()}})).one())
        await self.events.raw({"type": "message.updated", "message": message_json(msg)})
