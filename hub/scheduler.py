"""Jobs that fall due (SLA warnings and breaches, callback reminders and retries, follow-ups), kept in the database.

A job has a unique key, so scheduling the same thing twice replaces it instead of doubling it.  Each tick claims
due jobs with an expiring lock (on PostgreSQL under row locks with SKIP LOCKED, on SQLite with a conditional
UPDATE), so every process ticks at once without firing a job twice, and a job claimed by a process that died is
picked up again when its lock expires.  Handlers must be idempotent on their own state (a reminder checks that it
was not already sent) because a crash between a handler's commit and the job's completion re-runs it.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.clock import Clock
from hub.store.db import Database
from hub.store.prepared import Prepared
from hub.store.schema import jobs
from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.scheduler")
LOCK = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int


JobHandler = Callable[[Job], Awaitable[None]]


_UPSERTS: dict[str, Prepared] = {}
_INSERTS: dict[str, Prepared] = {}


_JOB_KEYS = ("kind", "key", "due_at", "payload", "state", "attempts")


def _upsert(dialect: str) -> Prepared:
    """The job upsert, built and prepared once per dialect (hub.store.prepared), executed with parameters."""
    if dialect not in _UPSERTS:
        ins = (sqlite_insert if dialect == "sqlite" else pg_insert)(jobs)
        _UPSERTS[dialect] = Prepared(ins.on_conflict_do_update(
            index_elements=["key"],
            set_={"kind": ins.excluded.kind, "due_at": ins.excluded.due_at, "payload": ins.excluded.payload,
                  "state": "pending", "attempts": 0, "locked_until": None, "last_error": None, "done_at": None},
        ), _JOB_KEYS)
    return _UPSERTS[dialect]


def _insert_new(dialect: str) -> Prepared:
    """The job insert that leaves a job already under its key as it is (`schedule_new_many`)."""
    if dialect not in _INSERTS:
        ins = (sqlite_insert if dialect == "sqlite" else pg_insert)(jobs)
        _INSERTS[dialect] = Prepared(ins.on_conflict_do_nothing(index_elements=["key"]), _JOB_KEYS)
    return _INSERTS[dialect]


async def schedule(conn: AsyncConnection, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None) -> None:
    """Create or move the job with this key (inside the caller's transaction)."""
    await _upsert(conn.dialect.name).run(
        conn,
        {"kind": kind, "key": key, "due_at": due_at, "payload": payload or {}, "state": "pending", "attempts": 0},
    )


async def schedule_many(conn: AsyncConnection, items: list[tuple[str, str, datetime, dict[str, Any]]]) -> None:
    """`schedule` for several (kind, key, due_at, payload) in one statement."""
    if items:
        await _upsert(conn.dialect.name).run_many(conn, _rows(items))


async def schedule_new_many(conn: AsyncConnection, items: list[tuple[str, str, datetime, dict[str, Any]]]) -> None:
    """`schedule_many` for keys that no job holds yet: a job already under a key, in any state, is left as it is
    (jobs planned earlier and written late must not undo what a later change armed or stopped meanwhile)."""
    if items:
        await _insert_new(conn.dialect.name).run_many(conn, _rows(items))


def _rows(items: list[tuple[str, str, datetime, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"kind": kind, "key": key, "due_at": due, "payload": payload or {}, "state": "pending", "attempts": 0}
            for kind, key, due, payload in items]


async def plan_recurring(conn: AsyncConnection, kind: str, key: str, due_at: datetime,
                         payload: dict[str, Any] | None = None) -> None:
    """A recurring job's first run, unless one is planned already (a restart does not move it).  The job plans its
    own next run from its handler."""
    planned = (await conn.execute(select(jobs.c.id).where(and_(jobs.c.key == key, jobs.c.state == "pending")))).first()
    if planned is None:
        await schedule(conn, kind, key, due_at, payload)


async def cancel(conn: AsyncConnection, key: str) -> None:
    await conn.execute(delete(jobs).where(and_(jobs.c.key == key, jobs.c.state == "pending")))


async def cancel_prefix(conn: AsyncConnection, prefix: str) -> None:
    await conn.execute(delete(jobs).where(and_(jobs.c.key.like(prefix + "%"), jobs.c.state == "pending")))


class Scheduler:
    def __init__(self, db: Database, clock: Clock, *, interval: float = 1.0, max_attempts: int = 5) -> None:
        self.db, self.clock, self.interval, self.max_attempts = db, clock, interval, max_attempts
        self.handlers: dict[str, JobHandler] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def handle(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        def register(fn: JobHandler) -> JobHandler:
            self.handlers[kind] = fn
            return fn

        return register

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler tick failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def tick(self, limit: int = 500) -> int:
        """Fire what is due now; returns how many jobs ran."""
        now = self.clock.now()
        due = and_(jobs.c.state == "pending", jobs.c.due_at <= now, or_(jobs.c.locked_until.is_(None), jobs.c.locked_until < now))
        if not self.db.is_sqlite:
            return await self._tick_locked(now, due, limit)
        async with self.db.read() as conn:
            rows = (await conn.execute(select(jobs).where(due).order_by(jobs.c.due_at).limit(limit))).all()
        ran = 0
        for row in rows:
            if await self._claim(row, now):
                await self._run(Job(row.id, row.kind, row.key, row.due_at, row.payload or {}, row.attempts + 1), now + LOCK)
                ran += 1
        return ran

    async def _tick_locked(self, now: datetime, due: Any, limit: int, batch: int = 10) -> int:
        """PostgreSQL: claim small batches under row locks (SKIP LOCKED), so processes share the due jobs and a
        claimed batch runs well within its lock."""
        ran = 0
        while ran < limit:
            pick = select(jobs.c.id).where(due).order_by(jobs.c.due_at).limit(min(batch, limit - ran)).with_for_update(skip_locked=True)
            async with self.db.write() as conn:
                rows = (
                    await conn.execute(
                        update(jobs)
                        .where(and_(jobs.c.id.in_(pick.scalar_subquery()), due))
                        .values(locked_until=now + LOCK, attempts=jobs.c.attempts + 1)
                        .returning(*jobs.c)
                    )
                ).all()
            if not rows:
                break
            for row in sorted(rows, key=lambda r: r.due_at):
                await self._run(Job(row.id, row.kind, row.key, row.due_at, row.payload or {}, row.attempts), now + LOCK)
                ran += 1
        return ran

    async def _claim(self, row: Any, now: datetime) -> bool:
        # The row must still be the one we read: a job retried or rescheduled since then (a later due_at, reset
        # attempts) is not due for this tick and must not fire early with a stale payload.
        async with self.db.write() as conn:
            res = await conn.execute(
                update(jobs)
                .where(and_(jobs.c.id == row.id, jobs.c.state == "pending", jobs.c.due_at == row.due_at, jobs.c.attempts == row.attempts,
                            or_(jobs.c.locked_until.is_(None), jobs.c.locked_until < now)))
                .values(locked_until=now + LOCK, attempts=jobs.c.attempts + 1)
            )
            return res.rowcount == 1

    async def _run(self, job: Job, locked_until: datetime) -> None:
        handler = self.handlers.get(job.kind)
        error: str | None = None
        if handler is None:
            error = f"no handler for job kind {job.kind!r}"
        else:
            try:
                await handler(job)
            except Exception as exc:
                log.exception("job %s (%s) failed", job.key, job.kind)
                error = repr(exc)[:1000]
        now = self.clock.now()
        ours = and_(jobs.c.id == job.id, jobs.c.locked_until == locked_until)  # not a claim another process took since
        async with self.db.write() as conn:
            if error is None:
                # Only complete the job we ran: a handler may have rescheduled the same key for later.
                await conn.execute(
                    update(jobs).where(and_(jobs.c.id == job.id, jobs.c.due_at == job.due_at, jobs.c.attempts == job.attempts))
                    .values(state="done", done_at=now, locked_until=None)
                )
                # Release only our own claim: once rescheduled, the row may already be claimed by another process.
                await conn.execute(update(jobs).where(and_(ours, jobs.c.state == "pending")).values(locked_until=None))
            elif job.attempts >= self.max_attempts:
                await conn.execute(update(jobs).where(ours).values(state="failed", last_error=error, locked_until=None))
            else:
                retry = now + timedelta(seconds=min(2 ** job.attempts, 300))
                await conn.execute(update(jobs).where(ours).values(due_at=retry, last_error=error, locked_until=None))
