"""Scheduler handlers: the reminder, the callback falling due, and the "call by" deadline passing.

Each handler re-reads the callback and changes it with a conditional update in the transaction that also queues
its notice, so a job re-run after a crash (or fired by two processes) reminds or escalates once.  A re-run of the
due job publishes `callback.due` again, which is harmless: the database, not the event, is the queue.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import and_, update

from hub.bus import AGENTS
from hub.callbacks import store
from hub.callbacks.service import CallbackService
from hub.callbacks.texts import say, window
from hub.callbacks.values import ACTIVE, mask
from hub.domain import OPEN_VALUES as OPEN, Status
from hub.scheduler import Job
from hub.store import facts
from hub.store import tickets as ticket_store
from hub.store.schema import callbacks, tickets

log = logging.getLogger("hub.callbacks")
PRIORITIES = ("low", "normal", "high", "urgent")


def _id(job: Job) -> int:
    return int(job.payload.get("callback_id") or job.key.split(":")[1])


class CallbackJobs:
    def __init__(self, service: CallbackService) -> None:
        self.s = service
        self.db, self.clock = service.db, service.clock

    def register(self, scheduler: Any) -> None:
        scheduler.handle(store.REMIND)(self.remind)
        scheduler.handle(store.DUE)(self.due)
        scheduler.handle(store.OVERDUE)(self.overdue)

    async def remind(self, job: Job) -> None:
        cid, now = _id(job), self.clock.now()
        sent = None
        async with self.db.write() as conn:
            res = await conn.execute(
                update(callbacks)
                .where(and_(callbacks.c.id == cid, callbacks.c.status == "scheduled", callbacks.c.reminded_at.is_(None)))
                .values(reminded_at=now)
            )
            if res.rowcount != 1:
                return
            row = await store.get(conn, cid)
            if row.window_start <= now:  # the hub was down past the call time: a reminder now only confuses
                return
            fmt = dict(phone=mask(row.phone), **window(row.window_start, row.window_end, row.tz, row.lang))
            sent = await store.notice(conn, row.ticket_id, say("reminder", row.lang, **fmt), now, self.s.writable)
        if sent is not None:
            self.s.hub.outbox.kick(sent[1])
            await self.s.hub.events.message(sent[0])

    async def due(self, job: Job) -> None:
        cid, now = _id(job), self.clock.now()
        async with self.db.write() as conn:
            await conn.execute(
                update(callbacks)
                .where(and_(callbacks.c.id == cid, callbacks.c.status == "scheduled", callbacks.c.window_start <= now))
                .values(status="due", updated_at=now)
            )
            row = await store.get(conn, cid)
        if row is not None and row.status == "due":
            log.info("callback %s due on ticket %s (%s)", cid, row.ticket_id, mask(row.phone))
            await self.s.hub.bus.publish(AGENTS, {"type": "callback.due", "callback": store.callback_json(row)})

    async def overdue(self, job: Job) -> None:
        """Not called by the end of the window: a breach of the "call by" SLA, escalated like any other."""
        cid, now = _id(job), self.clock.now()
        async with self.db.write() as conn:
            res = await conn.execute(
                update(callbacks)
                .where(and_(callbacks.c.id == cid, callbacks.c.status.in_(ACTIVE), callbacks.c.escalated_at.is_(None), callbacks.c.window_end <= now))
                .values(escalated_at=now)
            )
            if res.rowcount != 1:
                return
            row = await store.get(conn, cid)
            t = await ticket_store.get_ticket(conn, row.ticket_id)
            if t.status.value not in OPEN:
                return
            cur = t.priority if t.priority in PRIORITIES else "normal"
            new = PRIORITIES[min(PRIORITIES.index(cur) + 1, len(PRIORITIES) - 1)]
            why = f"callback {cid} not made by {row.window_end.isoformat()}: first_response SLA breached; priority {cur} -> {new}"
            values: dict[str, Any] = {"priority": new, "updated_at": now}
            breached = (await conn.execute(tickets.select().where(tickets.c.id == t.id))).one().breached or []
            if "first_response" not in breached:
                values["breached"] = [*breached, "first_response"]
            dept = self.s.hub.config.department(t.department) if t.department else None
            if dept is not None and dept.escalation and dept.escalation != t.department:
                values.update(department=dept.escalation, assignee_id=None, status=Status.QUEUED.value)
                why += f"; moved from {t.department} to escalation department {dept.escalation}"
            await conn.execute(update(tickets).where(tickets.c.id == t.id).values(**values))
            await ticket_store.add_trace(conn, t.id, now, "sla", why)
            facts.note("updated", t.id)  # the ticket.updated its _after publishes commits here
            facts.note("callback.missed", cid, why)  # sla.breached, once: escalated_at is set once per window
        log.warning("callback %s overdue on ticket %s (%s)", cid, row.ticket_id, mask(row.phone))
        await self.s._after(row.ticket_id, None, {"type": "callback.overdue", "callback": store.callback_json(row), "ticket_id": row.ticket_id, "deadline": "first_response"})
