"""Delivering webhook events: queued in the database, POSTed with a signature, retried with backoff.

The same discipline as the reply outbox (hub/outbox.py): an event is stored as one `webhook_deliveries` row per
endpoint before anything is sent; a sender claims a row with a conditional UPDATE and an expiring lock (two
processes never send one row at once, a crashed sender's row is taken over), POSTs it, and records the answer.
A 2xx is delivered; anything else (a refused connection, a timeout, a 5xx, a 4xx) is retried with exponential
backoff until `max_attempts`, then marked failed and shown in the delivery log, where an admin may send it again.
At least once: a receiver that answered too slowly may get the same event id again and must de-duplicate on it.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import and_, delete, or_, select, update

from hub import periodic
from hub.bus import AGENTS
from hub.clock import Clock
from hub.store.db import Database
from hub.store.schema import webhook_deliveries as wd
from hub.webhooks import store
from hub.webhooks.config import WebhookEndpoint, WebhooksConfig
from hub.webhooks.events import from_bus
from hub.webhooks.guard import BlockedAddress, GuardedResolver, check_literal
from hub.webhooks.signing import signature

log = logging.getLogger("hub.webhooks")
USER_AGENT = "feedback-hub-webhooks/1"
_READ_LIMIT = 4096  # of a receiver's answer, kept for the log; the rest is not read


class WebhookSender:
    def __init__(self, db: Database, config: WebhooksConfig, clock: Clock) -> None:
        self.db, self.config, self.clock = db, config, clock
        self.lock = timedelta(seconds=config.lock_timeout)
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._limit = asyncio.Semaphore(config.concurrency)
        self._last_prune: datetime | None = None
        self._active = any(e.enabled for e in config.endpoints)  # the config is frozen; asked on every event

    @property
    def active(self) -> bool:
        return self._active

    # -- lifecycle -------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        if not self.active:
            return
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        for allow_private in (False, True):
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(allow_private), limit=self.config.concurrency * 2)
            self._sessions[allow_private] = aiohttp.ClientSession(
                connector=connector, timeout=timeout, headers={"User-Agent": USER_AGENT}, trust_env=False
            )
        self._sweeper = asyncio.create_task(
            periodic.repeat(self.sweep, lambda: self.config.sweep_interval, "webhook sweep"), name="webhook-sweeper")

    async def stop(self) -> None:
        await periodic.cancel_and_wait(self._sweeper)
        await asyncio.gather(*self._tasks, return_exceptions=True)  # deliveries already started finish
        for s in self._sessions.values():
            await s.close()
        self._sessions.clear()

    async def drain(self) -> None:
        await periodic.drain(self._tasks)

    # -- queueing --------------------------------------------------------------------------------------------------
    async def on_publish(self, topic: str, event: dict[str, Any]) -> None:
        """The bus tap: every queue event this process publishes, after its change was committed.  Every webhook
        event is queued in the transaction of its change (`ticket_opened`, `survey_answered`, `before_commit`):
        this only sends the rows now rather than at the next sweep.  The ids are those the change queued, as the
        event mapping derives both from the same fact."""
        if topic != AGENTS or not self.active:
            return
        events = {ev.id: ev.type for ev in from_bus(event)}
        targets = [e.name for e in self.config.endpoints if any(e.wants(t) for t in events.values())]
        if not targets or not self._sessions:
            return
        async with self.db.read() as conn:  # the (endpoint, event_id) unique index answers this
            ids = list((await conn.execute(select(wd.c.id).where(and_(
                wd.c.endpoint.in_(targets), wd.c.event_id.in_(list(events)), wd.c.state == "pending")))).scalars())
        for i in ids:
            self.kick(i)

    async def ticket_opened(self, conn: Any, t: Any, route: Any) -> None:
        """In the transaction that opens a ticket (intake's `on_ticket_opened`, after assignment and SLA): the
        ticket.created deliveries commit with the ticket, so a crash right after cannot lose them."""
        if not self.active:
            return None
        from hub.serialize import ticket_json

        for ev in from_bus({"type": "ticket.created", "ticket": ticket_json(t)}):
            targets = [e.name for e in self.config.endpoints if e.wants(ev.type)]
            await store.enqueue(conn, targets, ev, self.clock.now())
        return None

    async def survey_answered(self, conn: Any, survey: dict[str, Any]) -> None:
        """In the transaction that stores a survey answer (hub.surveys' `on_answered`): the delivery rows commit with
        the answer, so a crash right after cannot lose the event.  The bus event that follows the commit maps to the
        same event id and adds nothing; the sweeper sends these rows."""
        if not self.active:
            return
        from hub.serialize import ticket_json
        from hub.store import tickets as ticket_store
        from hub.surveys.records import answered_event

        t = await ticket_store.get_ticket(conn, survey["ticket_id"])
        for ev in from_bus(answered_event(survey, ticket_json(t))):
            targets = [e.name for e in self.config.endpoints if e.wants(ev.type)]
            await store.enqueue(conn, targets, ev, self.clock.now())

    async def before_commit(self, conn: Any, noted: list[Any]) -> None:
        """`Database.before_commit`: the facts a transaction noted queue their events in it (hub.webhooks.changes)."""
        from hub.webhooks.changes import queue

        await queue(conn, noted, self.config, self.clock.now())

    def kick(self, delivery_id: int) -> None:
        if not self._sessions:
            return  # not started (or stopping): the sweeper of a running process picks the row up
        task = asyncio.create_task(self.attempt(delivery_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _due(self, now: datetime) -> Any:
        return and_(wd.c.state == "pending", wd.c.next_attempt_at <= now,
                    or_(wd.c.locked_until.is_(None), wd.c.locked_until < now))

    async def sweep(self, limit: int = 100) -> int:
        now = self.clock.now()
        async with self.db.read() as conn:
            ids = (await conn.execute(select(wd.c.id).where(self._due(now)).order_by(wd.c.next_attempt_at).limit(limit))).scalars().all()
        await asyncio.gather(*(self.attempt(i) for i in ids))
        await self._prune(now)
        return len(ids)

    async def _prune(self, now: datetime) -> None:
        if self._last_prune and now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        cutoff = now - timedelta(days=self.config.keep_days)
        async with self.db.write() as conn:
            await conn.execute(delete(wd).where(and_(wd.c.state != "pending", wd.c.created_at < cutoff)))

    async def _claim(self, delivery_id: int) -> Any | None:
        now = self.clock.now()
        async with self.db.write() as conn:
            res = await conn.execute(
                update(wd).where(and_(wd.c.id == delivery_id, self._due(now)))
                .values(locked_until=now + self.lock, attempts=wd.c.attempts + 1)
            )
            if res.rowcount != 1:
                return None
            return (await conn.execute(select(wd).where(wd.c.id == delivery_id))).one()

    # -- sending ---------------------------------------------------------------------------------------------------
    async def attempt(self, delivery_id: int) -> None:
        async with self._limit:
            row = await self._claim(delivery_id)
            if row is None:
                return
            endpoint = self.config.endpoint(row.endpoint)
            if endpoint is None or not endpoint.enabled:
                # Removed from config since it was queued: nothing to send it to, and nothing to keep trying.
                await self._record(row, None, "the endpoint is no longer configured", permanent=True)
                return
            status, error, retry_after = await self._post(endpoint, row)
            if error is None:
                await self._record(row, status, None)
            else:
                await self._record(row, status, error, retry_after=retry_after)

    async def _post(self, endpoint: WebhookEndpoint, row: Any) -> tuple[int | None, str | None, float | None]:
        """(HTTP status or None, error or None when delivered, seconds the receiver asked to wait)."""
        body = row.body.encode("utf-8")
        ts = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Hub-Event": row.event,
            "X-Hub-Event-Id": row.event_id,
            "X-Hub-Delivery": str(row.id),
            "X-Hub-Timestamp": str(ts),
            "X-Hub-Signature": signature(endpoint.secret, ts, body),
        }
        session = self._sessions.get(endpoint.allow_private)
        if session is None:
            return None, "the webhook sender is stopping", None
        try:
            check_literal(urlsplit(endpoint.url).hostname or "", endpoint.allow_private)
            async with session.post(endpoint.url, data=body, headers=headers, allow_redirects=False) as resp:
                answer = (await resp.content.read(_READ_LIMIT)).decode("utf-8", "replace")
                if 200 <= resp.status < 300:
                    return resp.status, None, None
                wait = _retry_after(resp.headers.get("Retry-After"))
                return resp.status, f"HTTP {resp.status}: {answer[:300]}".strip(), wait
        except BlockedAddress as exc:
            return None, f"blocked: {exc}", None
        except asyncio.TimeoutError:
            return None, f"no answer within {self.config.timeout:g} s", None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddress):
                return None, f"blocked: {exc.os_error}", None
            return None, f"cannot connect: {exc.os_error or exc}", None
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}", None

    async def _record(self, row: Any, status: int | None, error: str | None, *, permanent: bool = False,
                      retry_after: float | None = None) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {"locked_until": None, "last_status": status, "last_error": error and error[:1000]}
        if error is None:
            values.update(state="sent", delivered_at=now)
            log.info("webhook %s %s (%s) delivered to %s", row.id, row.event, row.event_id, row.endpoint)
        elif permanent or row.attempts >= self.config.max_attempts:  # attempts counts this one (claimed)
            values["state"] = "failed"
            log.warning("webhook %s %s to %s failed for good after %s attempts: %s", row.id, row.event, row.endpoint, row.attempts, error)
        else:
            delay = min(self.config.backoff_base * (2 ** (row.attempts - 1)), self.config.backoff_max)
            if retry_after is not None:
                delay = min(max(delay, retry_after), self.config.backoff_max)
            values["next_attempt_at"] = now + timedelta(seconds=delay)
            log.info("webhook %s to %s: %s; retry in %.1f s", row.id, row.endpoint, error, delay)
        async with self.db.write() as conn:
            await conn.execute(update(wd).where(wd.c.id == row.id).values(**values))

    async def redeliver(self, delivery_id: int) -> bool:
        """An admin's "send again" on a failed (or delivered) row: same event id and body, attempts from zero."""
        now = self.clock.now()
        async with self.db.write() as conn:
            res = await conn.execute(
                update(wd).where(and_(wd.c.id == delivery_id, wd.c.state != "pending"))
                .values(state="pending", attempts=0, next_attempt_at=now, locked_until=None)
            )
        if res.rowcount == 1:
            self.kick(delivery_id)
        return res.rowcount == 1


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
