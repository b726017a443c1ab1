"""Tickets that finish by themselves: a resolved ticket closes `tickets.auto_close_after` after its resolution, and
a conversation only the bot answered resolves once the customer said the answer helped (a few minutes later, so a
follow-up question still lands in it) or after `tickets.bot_idle_resolve_after` without a word from them, which
takes it out of the queue's default (open) view.

A recurring scheduler job (one process runs it at a time); every change goes through `Actions.set_status`, the
status machine and its events.  May import hub.actions, hub.scheduler, hub.store."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from hub import scheduler
from hub.domain import Direction, Status
from hub.errors import ConflictError
from hub.store.schema import messages, tickets

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger(__name__)
KIND = KEY = "tickets.housekeeping"
EVERY = timedelta(minutes=5)
HELPED_GRACE = timedelta(minutes=10)  # after "yes, it helped": time for one more question before resolving
BATCH = 200


class Housekeeping:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def register(self, sched: scheduler.Scheduler) -> None:
        sched.handle(KIND)(self._job)

    @property
    def active(self) -> bool:
        cfg = self.hub.config.tickets
        return cfg.auto_close_after > timedelta(0) or cfg.bot_idle_resolve_after > timedelta(0)

    async def start(self) -> None:
        if not self.active:
            return
        async with self.hub.db.write() as conn:
            await scheduler.plan_recurring(conn, KIND, KEY, self.hub.clock.now() + EVERY, {})

    async def stop(self) -> None:
        return None

    async def _job(self, job: scheduler.Job) -> None:
        done = await self.run()
        async with self.hub.db.write() as conn:
            await scheduler.schedule(conn, KIND, KEY, self.hub.clock.now() + EVERY, {})
        if any(done.values()):
            log.info("ticket housekeeping: %s", done)

    async def run(self) -> dict[str, int]:
        return {"closed": await self._close_resolved(), "resolved": await self._resolve_bot_only()}

    async def _close_resolved(self) -> int:
        after = self.hub.config.tickets.auto_close_after
        if after <= timedelta(0):
            return 0
        cutoff = self.hub.clock.now() - after
        async with self.hub.db.read() as conn:
            ids = (await conn.execute(
                select(tickets.c.id).where(and_(tickets.c.status == Status.RESOLVED.value, tickets.c.resolved_at <= cutoff))
                .order_by(tickets.c.resolved_at).limit(BATCH))).scalars().all()
        return await self._move(ids, Status.CLOSED, f"closed automatically {_span(after)} after it was resolved")

    async def _resolve_bot_only(self) -> int:
        idle = self.hub.config.tickets.bot_idle_resolve_after
        if idle <= timedelta(0):  # 0 turns both rules off: bot conversations stay until someone acts
            return 0
        now = self.hub.clock.now()
        last_in = (select(func.max(messages.c.created_at)).where(and_(messages.c.ticket_id == tickets.c.id,
                                                                      messages.c.direction == Direction.IN.value))
                   .correlate(tickets).scalar_subquery())
        async with self.hub.db.read() as conn:
            rows = (await conn.execute(
                select(tickets.c.id, tickets.c.bot_state, last_in.label("last_in"))
                .where(and_(tickets.c.status == Status.BOT.value, tickets.c.updated_at <= now - HELPED_GRACE))
                .order_by(tickets.c.updated_at).limit(BATCH))).all()
        helped, quiet = [], []
        for r in rows:
            state: dict[str, Any] = r.bot_state or {}
            if state.get("helped") and not state.get("awaiting_feedback"):
                helped.append(r.id)
            elif r.last_in is not None and _aware(r.last_in) <= now - idle:
                quiet.append(r.id)
        return (await self._move(helped, Status.RESOLVED, "resolved automatically: the customer said the bot's answer helped")
                + await self._move(quiet, Status.RESOLVED, f"resolved automatically: the bot answered and the customer said nothing for {_span(idle)}"))

    async def _move(self, ids: Any, wanted: Status, why: str) -> int:
        n = 0
        for tid in ids:
            try:
                await self.hub.actions.set_status(tid, None, wanted, why)
                n += 1
            except ConflictError:  # it moved meanwhile (the customer wrote, an agent claimed it): leave it be
                continue
        return n


def _aware(at: Any) -> Any:
    from datetime import timezone

    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _span(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s % 86400 == 0 and s >= 2 * 86400:
        return f"{s // 86400} d"
    if s % 3600 == 0:
        return f"{s // 3600} h"
    return f"{s // 60} min"
