"""The retention job: personal data older than `retention:` allows is removed, a small batch per transaction.

Each run, per channel:
  raw sources   messages older than raw_sources lose their raw provider data; where the provider keeps a copy (the
                mail server) it is removed first, and attachment references that pointed into it are dropped.
  closed tickets  tickets resolved or closed longer than closed_tickets ago are anonymised (hub.privacy.anonymise).
Then customers whose every ticket is anonymised are forgotten (identities and profile), as an erasure would.

Every batch is one short transaction with its own audit entry (`retention.run`, numbers only) and a pause after it,
so the SQLite write lock is never held for long and a crash loses at most the batch in flight.  Everything selects
only what is not done yet, so a run repeated or interrupted is harmless.  May import hub.audit, hub.store,
hub.scheduler and hub.privacy.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, null, select, update

from channels.base import Channel
from hub import audit, scheduler
from hub.clock import Clock
from hub.domain import Attachment
from hub.privacy import anonymise
from hub.privacy.config import RetentionConfig
from hub.privacy.rights import compact
from hub.store import records
from hub.store.db import Database
from hub.store.schema import customers, messages, tickets

log = logging.getLogger("hub.privacy")
KIND = KEY = "retention"
FINISHED = ("resolved", "closed")


class Retention:
    def __init__(self, db: Database, config: RetentionConfig, clock: Clock, channels: Mapping[str, Channel]) -> None:
        self.db, self.config, self.clock, self.channels = db, config, clock, channels
        self._last_kept = 0

    def register(self, sched: scheduler.Scheduler) -> None:
        sched.handle(KIND)(self._job)

    async def start(self) -> None:
        """The first run is due now unless one is already planned (a restart does not move it)."""
        if not self.config.active:
            return
        async with self.db.write() as conn:
            await scheduler.plan_recurring(conn, KIND, KEY, self.clock.now(), {})

    async def stop(self) -> None:
        return None

    async def _job(self, job: scheduler.Job) -> None:
        done = await self.run()
        more = done.pop("more", False)
        # A backlog left by max_batches continues soon; otherwise the next run is a period away.
        delay = timedelta(seconds=30) if more else self.config.every
        async with self.db.write() as conn:
            await scheduler.schedule(conn, KIND, KEY, self.clock.now() + delay, {})
        if any(done.values()):
            log.info("retention run: %s", done)

    def _channels(self) -> list[str]:
        return sorted(set(self.channels) | set(self.config.channels) | {"webchat", "email", "telegram", "callback"})

    async def run(self) -> dict[str, Any]:
        """One run over every channel; returns what it changed (and `more` when it stopped at max_batches)."""
        total: dict[str, Any] = {"raw_sources": 0, "mails_removed": 0, "tickets": 0, "customers": 0, "more": False}
        budget = self.config.max_batches
        for channel in self._channels():
            period = self.config.period(channel, "raw_sources")
            while period is not None and budget > 0:
                budget -= 1
                n, removed = await self._raw_batch(channel, self.clock.now() - period)
                total["raw_sources"] += self._last_kept
                total["mails_removed"] += removed
                if n < self.config.batch:
                    break
                await asyncio.sleep(self.config.pause)
            period = self.config.period(channel, "closed_tickets")
            while period is not None and budget > 0:
                budget -= 1
                n = await self._ticket_batch(channel, self.clock.now() - period)
                total["tickets"] += n
                if n < self.config.batch:
                    break
                await asyncio.sleep(self.config.pause)
        while budget > 0:
            budget -= 1
            n = await self._customer_batch()
            total["customers"] += n
            if n < self.config.batch:
                break
            await asyncio.sleep(self.config.pause)
        total["more"] = budget <= 0
        if total["raw_sources"] or total["tickets"] or total["customers"]:
            await compact(self.db)
        return total

    async def _forget(self, channel: str, provider_ids: list[str]) -> int:
        forget = getattr(self.channels.get(channel), "forget", None)
        if forget is None or not provider_ids:
            return 0
        return int(await forget(provider_ids, []))

    async def _raw_batch(self, channel: str, cutoff: datetime) -> tuple[int, int]:
        async with self.db.read() as conn:
            rows = (await conn.execute(
                select(messages.c.id, messages.c.provider_id, messages.c.direction, messages.c.attachments, messages.c.raw)
                .where(and_(messages.c.channel == channel, messages.c.raw.is_not(None), messages.c.created_at < cutoff))
                .order_by(messages.c.created_at).limit(self.config.batch))).all()
        if not rows:
            return 0, 0
        # A JSON null (a message stored without raw data) becomes SQL NULL here once, and is not counted.
        kept = self._last_kept = sum(1 for r in rows if r.raw is not None)
        # The provider's copies go first: if the mail server is down, the batch waits for the next run untouched.
        removed = await self._forget(channel, [r.provider_id for r in rows if r.provider_id and r.direction == "in"])
        has_copies = getattr(self.channels.get(channel), "forget", None) is not None
        now = self.clock.now()
        async with self.db.write() as conn:
            for r in rows:
                values: dict[str, Any] = {"raw": null()}
                if has_copies and r.attachments:
                    # The bytes lived in the removed mail: keep what the file was, not where it was.
                    values["attachments"] = [_without_ref(a) for a in records.attachments(r.attachments)]
                await conn.execute(update(messages).where(messages.c.id == r.id).values(**values))
            await audit.record(conn, "retention.run", actor=None, target_type="messages", at=now, source="scheduler",
                               detail={"channel": channel, "raw_sources": kept, "mails_removed": removed,
                                       "older_than": cutoff.isoformat()})
        return len(rows), removed

    async def _ticket_batch(self, channel: str, cutoff: datetime) -> int:
        # updated_at first: the partial index ix_tickets_retention finds the candidates without a scan.
        ended = func.coalesce(tickets.c.closed_at, tickets.c.resolved_at, tickets.c.updated_at)
        async with self.db.read() as conn:
            ids = [r[0] for r in (await conn.execute(
                select(tickets.c.id).where(and_(tickets.c.channel == channel, tickets.c.status.in_(FINISHED),
                                                tickets.c.anonymised_at.is_(None), tickets.c.updated_at < cutoff,
                                                ended < cutoff))
                .order_by(tickets.c.updated_at).limit(self.config.batch))).all()]
            mids = [r[0] for r in (await conn.execute(
                select(messages.c.provider_id).where(and_(messages.c.ticket_id.in_(ids), messages.c.direction == "in",
                                                          messages.c.provider_id.is_not(None))))).all()] if ids else []
        if not ids:
            return 0
        removed = await self._forget(channel, mids)
        now = self.clock.now()
        async with self.db.write() as conn:
            # Re-checked inside the write: a ticket reopened since the read keeps its data.
            still = [r[0] for r in (await conn.execute(
                select(tickets.c.id).where(and_(tickets.c.id.in_(ids), tickets.c.status.in_(FINISHED),
                                                tickets.c.anonymised_at.is_(None))))).all()]
            counts = await anonymise.anonymise_tickets(conn, still, now)
            webhooks = await anonymise.scrub_webhooks(conn, still)
            await audit.record(conn, "retention.run", actor=None, target_type="tickets", at=now, source="scheduler",
                               detail={"channel": channel, "tickets": counts.tickets, "messages": counts.messages,
                                       "outbox_cancelled": counts.outbox_cancelled, "webhooks": webhooks,
                                       "mails_removed": removed, "older_than": cutoff.isoformat()})
        return len(ids)

    async def _customer_batch(self) -> int:
        """Customers with tickets, all anonymised: nothing of theirs is kept any more but the profile."""
        has_tickets = exists().where(tickets.c.customer_id == customers.c.id)
        kept = exists().where(and_(tickets.c.customer_id == customers.c.id, tickets.c.anonymised_at.is_(None)))
        async with self.db.read() as conn:
            ids = [r[0] for r in (await conn.execute(
                select(customers.c.id).where(and_(customers.c.erased_at.is_(None), has_tickets, ~kept))
                .order_by(customers.c.id).limit(self.config.batch))).all()]
        if not ids:
            return 0
        now = self.clock.now()
        async with self.db.write() as conn:
            done = 0
            for cid in ids:
                # Re-checked inside the write: a ticket opened since the read keeps the customer.
                if (await conn.execute(select(tickets.c.id).where(and_(tickets.c.customer_id == cid,
                                                                      tickets.c.anonymised_at.is_(None))))).first():
                    continue
                await anonymise.erase_customer(conn, cid, now, webhooks=False)  # scrubbed with the tickets
                done += 1
            await audit.record(conn, "retention.run", actor=None, target_type="customers", at=now, source="scheduler",
                               detail={"customers": done})
        return done


def _without_ref(a: Attachment) -> dict[str, Any]:
    return dict(asdict(a), ref="")

