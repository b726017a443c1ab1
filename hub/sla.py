"""SLA jobs: warnings and breaches of a ticket's first-response and resolution deadlines, and escalation.

The router computes the deadlines when a ticket opens; this module keeps the scheduler's jobs in step with the
ticket from then on.  Four jobs per ticket, keyed `sla:<target>:<warn|breach>:<ticket id>`; their payload keeps the
SLA policy, whether it counts wall-clock or business time and the warning fraction, so a later change (a pause,
a reopen, a transfer to a department with other hours) moves the deadlines on the same terms.  Stopped jobs are
marked `cancelled` rather than deleted so that payload survives a resolve followed by a reopen.

A new ticket's jobs are armed by the language review of its opening message when it gets one (hub.escalation), in
the review's write and with its escalation's: a complaint found there would have moved them at once.  Between the
two the deadlines are on the ticket and the message's review mark is in the store, so a crash loses neither
(`rebuilt`); the review writes only under keys no job holds, so whatever changed the ticket meanwhile stands.

`before_change(conn, ticket, values, now)` runs inside every ticket-changing transaction of intake and actions,
before the UPDATE: it may add deadline columns to `values`.  Handlers re-read the ticket and act only while the
target is still open and not yet breached, so a job re-run after a crash, or fired by two processes, acts once.
Imports hub and routing.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub import scheduler
from hub.bus import AGENTS
from hub.domain import Role, Status, Ticket
from hub.ports import RouteResult
from hub.scheduler import Job
from hub.serialize import ticket_json
from hub.store import facts, records
from hub.store import tickets as ticket_store
from hub.store.prepared import Prepared, PreparedIn
from hub.store.schema import agents, jobs, tickets, trace
from routing.calendar import BusinessCalendar
from routing.sla import calendar_for, on_breach, resume_resolution_due, warn_time

log = logging.getLogger("hub.sla")
WARN, BREACH = "sla.warning", "sla.breach"
TARGETS = ("first_response", "resolution")
LIVE = (Status.QUEUED.value, Status.ASSIGNED.value, Status.PENDING.value)
# While the bot holds a ticket nobody is paged; the job looks again this much later, so a deadline that passed
# during the bot's conversation still fires soon after the handoff.
BOT_RECHECK = timedelta(minutes=5)


def key(target: str, step: str, ticket_id: int) -> str:
    return f"sla:{target}:{step}:{ticket_id}"


@dataclass(frozen=True, slots=True)
class Terms:
    """How a ticket's deadlines are counted (kept in the job payload)."""

    policy: str
    wall_clock: bool
    warn_at: float

    def payload(self, ticket_id: int, target: str) -> dict[str, Any]:
        return {"ticket_id": ticket_id, "target": target, "policy": self.policy, "wall_clock": self.wall_clock,
                "warn_at": self.warn_at}


JobRow = tuple[str, str, datetime, dict[str, Any]]  # (kind, key, due at, payload): a row for scheduler.schedule_many


class SlaJobs:
    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.db, self.clock, self.config = hub.db, hub.clock, hub.config

    def register(self, sched: scheduler.Scheduler) -> None:
        sched.handle(WARN)(self.warning)
        sched.handle(BREACH)(self.breach)

    # -- terms and calendars -------------------------------------------------------------------------------------
    def _calendar_hours(self) -> tuple[str, ...]:
        routing = getattr(getattr(self.hub.router, "router", None), "routing", None)
        return tuple(getattr(routing, "calendar_hours", ()) or ())

    def _default_terms(self, policy: str) -> Terms:
        target = self.config.sla.get(policy)
        return Terms(policy, policy in self._calendar_hours(), target.warn_at if target else 0.8)

    def calendar(self, terms: Terms, department: str | None) -> BusinessCalendar:
        return BusinessCalendar.always() if terms.wall_clock else calendar_for(self.config, department)

    async def _terms(self, conn: AsyncConnection, t: Ticket) -> Terms:
        keys = [key(target, step, t.id) for target in TARGETS for step in ("breach", "warn")]
        row = (await _TERMS.run(conn, keys)).first()
        p = row.payload if row is not None else None
        if not p or "policy" not in p:
            return self._default_terms(t.priority)
        return Terms(str(p["policy"]), bool(p.get("wall_clock")), float(p.get("warn_at", 0.8)))

    # -- scheduling ----------------------------------------------------------------------------------------------
    async def _arm(
        self, conn: AsyncConnection, tid: int, target: str, terms: Terms, due: datetime | None, warn: datetime | None
    ) -> None:
        if due is None:
            return
        payload = terms.payload(tid, target)
        if warn is not None and warn < due:
            await scheduler.schedule(conn, WARN, key(target, "warn", tid), warn, payload)
        else:
            await _stop(conn, [key(target, "warn", tid)])
        await scheduler.schedule(conn, BREACH, key(target, "breach", tid), due, payload)

    async def on_ticket_opened(self, conn: AsyncConnection, t: Ticket, route: RouteResult) -> Ticket | None:
        """Arm a new ticket's jobs: the same jobs `_arm` writes, in one statement."""
        await self.write_jobs(conn, *self.jobs_for(t, route))
        return None

    @staticmethod
    async def write_jobs(conn: AsyncConnection, arm: list[JobRow], stop: list[str]) -> None:
        """Write what `jobs_for` planned, for one ticket or several."""
        if stop:
            await _stop(conn, stop)
        await scheduler.schedule_many(conn, arm)

    def rebuilt(self, row: Any, opened_at: datetime, policy: str) -> list[JobRow]:
        """The jobs a new ticket's open left to its language review (`jobs_for`'s, hub.escalation), made again from
        the ticket row when the plan held in memory is gone: a review read back from the store, or taken up at a
        start.  The policy named at the open when known, else the priority's (as `_terms` falls back); the warnings
        at its fraction of the time from the open, on the ticket's calendar."""
        terms = self._default_terms(policy or row.priority)
        cal = self.calendar(terms, row.department)
        arm: list[JobRow] = []
        for target in TARGETS:
            due = getattr(row, f"{target}_due")
            if due is None:
                continue
            payload = terms.payload(row.id, target)
            if opened_at < due and (warn := warn_time(opened_at, due, terms.warn_at, cal)) < due:
                arm.append((WARN, key(target, "warn", row.id), warn, payload))
            arm.append((BREACH, key(target, "breach", row.id), due, payload))
        return arm

    def jobs_for(self, t: Ticket, route: RouteResult) -> tuple[list[JobRow], list[str]]:
        """The jobs (scheduler rows) to arm and the job keys to stop for a ticket's deadlines as routed."""
        terms = Terms(route.sla_policy, route.sla_policy in self._calendar_hours(),
                      self._default_terms(route.sla_policy).warn_at)
        arm: list[JobRow] = []
        stop: list[str] = []
        for target, due, warn in (("first_response", t.first_response_due, route.first_response_warn_at),
                                  ("resolution", t.resolution_due, route.resolution_warn_at)):
            if due is None:
                continue
            payload = terms.payload(t.id, target)
            if warn is not None and warn < due:
                arm.append((WARN, key(target, "warn", t.id), warn, payload))
            else:
                stop.append(key(target, "warn", t.id))
            arm.append((BREACH, key(target, "breach", t.id), due, payload))
        return arm, stop

    async def _shift(
        self, conn: AsyncConnection, t: Ticket, target: str, terms: Terms, cal: BusinessCalendar,
        paused_at: datetime, now: datetime,
    ) -> datetime | None:
        """Re-arm `target` after a pause from `paused_at` to `now`: the business time left at the pause counts
        again from now.  Returns the new deadline, or None when there is nothing to move."""
        due = t.first_response_due if target == "first_response" else t.resolution_due
        if due is None:
            return None
        new_due = resume_resolution_due(due, paused_at, now, cal)
        warn_row = (await conn.execute(select(jobs.c.due_at).where(jobs.c.key == key(target, "warn", t.id)))).first()
        # A warning already sent before the pause is not sent again.
        warn = resume_resolution_due(warn_row.due_at, paused_at, now, cal) if warn_row and warn_row.due_at > paused_at else None
        # Armed even when the deadline passed before the pause: the breach handler records it once.
        await self._arm(conn, t.id, target, terms, new_due, warn)
        return new_due

    async def _move(
        self, conn: AsyncConnection, t: Ticket, terms: Terms, old: str | None, new: str | None, now: datetime,
        targets: tuple[str, ...], values: dict[str, Any],
    ) -> None:
        """Re-count open deadlines on the new department's hours: the business time left stays the same."""
        if terms.wall_clock:
            return
        a, b = calendar_for(self.config, old), calendar_for(self.config, new)
        if a.hours == b.hours:
            return
        for target in targets:
            due = t.first_response_due if target == "first_response" else t.resolution_due
            if due is None or due <= now:
                continue
            new_due = b.add_business_time(now, a.business_time_between(now, due))
            values[f"{target}_due"] = new_due
            warn = warn_time(now, new_due, terms.warn_at, b)
            await self._arm(conn, t.id, target, terms, new_due, warn)

    async def before_change(self, conn: AsyncConnection, t: Ticket, values: dict[str, Any], now: datetime) -> None:
        """Keep the jobs in step with a change about to be written (inside its transaction)."""
        tid = t.id
        if values.get("first_response_at") is not None and t.first_response_at is None:
            await _stop(conn, [key("first_response", s, tid) for s in ("warn", "breach")])
        new_status = values.get("status", t.status.value)
        dept_moved = "department" in values and values["department"] != t.department
        if new_status == t.status.value and not dept_moved:
            return
        if new_status in (Status.RESOLVED.value, Status.CLOSED.value):
            await _stop(conn, [key(target, s, tid) for target in TARGETS for s in ("warn", "breach")])
            return
        terms = await self._terms(conn, t)
        if new_status == Status.PENDING.value:
            await _stop(conn, [key("resolution", s, tid) for s in ("warn", "breach")])
        elif t.status in (Status.PENDING, Status.RESOLVED):
            # Back from waiting on the customer, or reopened: the time in between does not count.
            row = (await conn.execute(select(tickets.c.sla_paused_at, tickets.c.resolved_at).where(tickets.c.id == tid))).one()
            paused_at = row.sla_paused_at if t.status is Status.PENDING else row.resolved_at
            if paused_at is not None and paused_at <= now:
                cal = self.calendar(terms, t.department)
                targets = ("resolution",) if t.first_response_at or values.get("first_response_at") else TARGETS
                for target in targets:
                    moved = await self._shift(conn, t, target, terms, cal, paused_at, now)
                    if moved is not None:
                        values[f"{target}_due"] = moved
                        t = _with_due(t, target, moved)
            values["sla_paused_at"] = None
        if dept_moved:
            open_targets = tuple(x for x in TARGETS if x != "first_response" or t.first_response_at is None)
            await self._move(conn, t, terms, t.department, values["department"], now, open_targets, values)

    # -- handlers ------------------------------------------------------------------------------------------------
    async def _live(self, conn: AsyncConnection, job: Job, now: datetime) -> tuple[Any, str] | None:
        """(ticket row, target) when the job's target is still open and unmet; None when there is nothing to do."""
        tid, target = int(job.payload["ticket_id"]), str(job.payload["target"])
        row = (await conn.execute(select(tickets).where(tickets.c.id == tid))).first()
        if row is None or target not in TARGETS:
            return None
        if row.status == Status.BOT.value:
            await scheduler.schedule(conn, job.kind, job.key, now + BOT_RECHECK, job.payload)
            return None
        if row.status not in LIVE or target in (row.breached or ()):
            return None
        if target == "first_response" and (row.first_response_at is not None or row.kind == "callback"):
            return None  # a callback's first response is the call, whose call-by time hub.callbacks escalates
        if target == "resolution" and (row.status == Status.PENDING.value or row.sla_paused_at is not None):
            return None
        return row, target

    async def warning(self, job: Job) -> None:
        now = self.clock.now()
        async with self.db.write() as conn:
            live = await self._live(conn, job, now)
            if live is None:
                return
            row, target = live
            due = getattr(row, f"{target}_due")
            if due is None or due <= now:
                return  # the breach job speaks for it
            why = f"{target} due {due.isoformat()}"
            seen = await conn.execute(select(trace.c.id).where(
                and_(trace.c.ticket_id == row.id, trace.c.what == "sla_warning", trace.c.why == why)).limit(1))
            if seen.first() is not None:
                return
            await ticket_store.add_trace(conn, row.id, now, "sla_warning", why)
            t = records.ticket(row)
        log.info("sla warning: ticket %s %s due %s", t.id, target, due.isoformat())
        await self.hub.bus.publish(AGENTS, {"type": "sla.warning", "ticket": ticket_json(t), "target": target,
                                            "due": due.isoformat()})

    async def breach(self, job: Job) -> None:
        now = self.clock.now()
        async with self.db.write() as conn:
            live = await self._live(conn, job, now)
            if live is None:
                return
            row, target = live
            due = getattr(row, f"{target}_due")
            if due is None or due > now:
                return  # moved later (a pause, a transfer); the re-armed job fires then
            t = records.ticket(row)
            action = on_breach(self.config, priority=row.priority, department=row.department, deadline=target)
            values: dict[str, Any] = {"breached": [*(row.breached or ()), target], "priority": action.priority.value}
            notify = {row.department} | ({action.department} if action.department else set())
            if action.department:
                values["department"] = action.department
                if row.assignee_id is not None and not await _member(conn, row.assignee_id, action.department):
                    values.update(assignee_id=None, status=Status.QUEUED.value)
                # The same bookkeeping as any move: deadlines on the new hours, a pause ended by the requeue.
                await self.before_change(conn, t, values, now)
            if not await ticket_store.set_status(conn, row.id, [row.status], now, **values):
                raise RuntimeError(f"ticket {row.id} changed during the breach; retrying")
            await ticket_store.add_trace(conn, row.id, now, "escalated", action.why)
            facts.note("updated", row.id)
            facts.note("breach", row.id, target, action.why)
            supervisors = await self._supervisors(conn, {d for d in notify if d})
            t = await ticket_store.get_ticket(conn, row.id)
        log.warning("sla breach: ticket %s %s (%s); supervisors %s", t.id, target, action.why, supervisors)
        await self.hub.events.ticket("ticket.updated", t)
        await self.hub.bus.publish(AGENTS, {"type": "sla.breach", "ticket": ticket_json(t), "target": target,
                                            "why": action.why, "supervisors": supervisors})

    async def _supervisors(self, conn: AsyncConnection, departments: set[str]) -> list[int]:
        """Supervisors of these departments, and the agents the departments name by email."""
        if not departments:
            return []
        emails = {e.lower() for d in departments if (dept := self.config.department(d)) for e in dept.supervisors}
        rows = (await _candidates(len(emails)).run(
            conn, {"role": Role.SUPERVISOR.value, **{f"e{i}": e for i, e in enumerate(sorted(emails))}})).all()
        return sorted(
            r.id for r in rows
            if r.email in emails or (r.role == Role.SUPERVISOR.value and departments & set(r.departments or ()))
        )


@functools.lru_cache(maxsize=32)
def _candidates(emails: int) -> Prepared:
    """Only the candidates are read (supervisors, and the agents named by email), not every agent: one prepared
    statement per number of named emails (every escalation asks, and building the statement cost more than
    running it)."""
    named = agents.c.role == bindparam("role")
    if emails:
        named = or_(named, *(agents.c.email == bindparam(f"e{i}") for i in range(emails)))
    return Prepared(select(agents.c.id, agents.c.email, agents.c.role, agents.c.departments)
                    .where(and_(agents.c.active.is_(True), named)), ("role", *(f"e{i}" for i in range(emails))))


def _with_due(t: Ticket, target: str, due: datetime) -> Ticket:
    return replace(t, **{f"{target}_due": due})


async def _member(conn: AsyncConnection, agent_id: int, department: str) -> bool:
    row = (await conn.execute(select(agents.c.departments).where(agents.c.id == agent_id))).first()
    return row is not None and department in (row.departments or ())


# Not deleted: the payload (policy, clock) is what a reopen counts with.  Prepared per number of keys: an agent's
# reply stops two jobs, a resolve four.
_STOP = PreparedIn(lambda keys: update(jobs).where(and_(jobs.c.key.in_(keys), jobs.c.state == "pending"))
                   .values(state="cancelled"))


# Read on every status change of a ticket: any of its jobs' payload (they all keep the same terms).
_TERMS = PreparedIn(lambda keys: select(jobs.c.payload).where(jobs.c.key.in_(keys)).limit(1), limit=4)


async def _stop(conn: AsyncConnection, keys: list[str]) -> None:
    await _STOP.run(conn, keys)  # no keys: no statement
