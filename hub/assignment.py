"""Auto-assignment: a queued ticket goes to an online agent of its department with a free seat.

When a ticket opens in a department with `auto_assign`, or its customer has an account manager, `on_ticket_opened`
assigns it inside the opening transaction (routing.assign decides who: the account manager first, else the least
loaded online agent, round robin by `agents.last_assigned_at`).  A ticket nobody can take stays `queued`, and is
offered again when a seat frees: an agent comes online, resolves or closes a ticket, or a ticket re-enters the queue
(handoff from the bot, transfer, reopen, escalation).  Those moments arrive as bus events, published after commit,
so the web socket and the actions need no knowledge of this module; a slow periodic sweep covers an event lost
to a crash.  Tickets in `bot` are never assigned: the bot's handoff puts them in the queue first.

Atomicity: the ticket row is taken first (`FOR UPDATE SKIP LOCKED` on PostgreSQL; a new ticket is locked by its
own INSERT), then the candidate agent rows in id order (`FOR UPDATE`), and only then are seats counted, so two
transactions never both see the last free seat of an agent.  The assignment itself is a conditional UPDATE
(`status = 'queued' AND assignee_id IS NULL`), so a ticket is never assigned twice.  SQLite runs one writer at a
time behind the hub's write lock.  Imports hub and routing.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.bus import AGENTS
from hub.domain import Status, Ticket
from hub.ports import RouteResult
from hub.store import facts
from hub.store import tickets as ticket_store
from hub.store.schema import agents, customers, tickets
from routing.assign import AgentLoad, choose_agent
from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.assignment")
BUSY = (Status.ASSIGNED.value, Status.PENDING.value)  # statuses that hold one of an agent's seats
SWEEP_SECONDS = 30.0
BATCH = 50  # tickets offered per department per round, so one busy department cannot starve the others


@dataclass(frozen=True, slots=True)
class Offer:
    """Offer queued tickets of these departments; `agent_id` also offers that agent's managed customers."""

    departments: frozenset[str]
    agent_id: int | None = None


class Assigner:
    def __init__(self, hub: Any, *, sweep_seconds: float = SWEEP_SECONDS) -> None:
        self.hub = hub
        self.db, self.clock, self.config = hub.db, hub.clock, hub.config
        self.sweep_seconds = sweep_seconds
        self._queue: asyncio.Queue[Offer] = asyncio.Queue(maxsize=10_000)
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Any = None

    @property
    def auto_departments(self) -> frozenset[str]:
        return frozenset(d.name for d in self.config.departments if d.auto_assign)

    @property
    def prefer_manager(self) -> bool:
        routing = getattr(getattr(self.hub.router, "router", None), "routing", None)
        return bool(getattr(routing, "assign_account_manager", True))

    # -- lifecycle ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._unsubscribe = self.hub.bus.subscribe(AGENTS, self._on_event)
        self._tasks = [asyncio.create_task(self._work(), name="assigner"),
                       asyncio.create_task(self._sweep(), name="assigner-sweep")]

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        await cancel_and_wait(*self._tasks)
        self._tasks = []

    async def idle(self) -> None:
        """Wait until every offer queued so far has been worked (tests, shutdown)."""
        await self._queue.join()

    def offer(self, departments: Iterable[str], agent_id: int | None = None) -> None:
        try:
            self._queue.put_nowait(Offer(frozenset(departments), agent_id))
        except asyncio.QueueFull:  # the sweep catches up
            log.warning("assignment offers backed up; dropping one")

    def _on_event(self, event: dict[str, Any]) -> None:
        """Bus handler (must not block): turn seat-freeing moments into offers."""
        kind = event.get("type")
        if kind == "agent.presence" and event.get("status") == "online" and isinstance(event.get("agent_id"), int):
            self.offer((), event["agent_id"])
        elif kind == "ticket.updated" and isinstance(t := event.get("ticket"), dict):
            status = t.get("status")
            if status in (Status.RESOLVED.value, Status.CLOSED.value, Status.QUEUED.value) and isinstance(
                t.get("assignee_id"), int
            ):
                self.offer((), t["assignee_id"])
            if status == Status.QUEUED.value and t.get("assignee_id") is None and t.get("department"):
                self.offer((t["department"],))

    async def _work(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while not self._queue.empty():  # coalesce a burst of offers into one round
                batch.append(self._queue.get_nowait())
            try:
                depts = frozenset().union(*(o.departments for o in batch))
                agent_ids = {o.agent_id for o in batch if o.agent_id is not None}
                await self.run(depts, agent_ids)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("offering queued tickets failed")
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            if self.auto_departments:
                self.offer(self.auto_departments)

    # -- the opening transaction ---------------------------------------------------------------------------------
    async def on_ticket_opened(self, conn: AsyncConnection, t: Ticket, route: RouteResult) -> Ticket | None:
        if t.status is not Status.QUEUED:
            return None  # with the bot until it hands off
        manager = route.assignee_id
        if not route.auto_assign and manager is None:
            return None
        if await self.assign(conn, t.id, t.department, manager, only_manager=not route.auto_assign):
            return await ticket_store.get_ticket(conn, t.id)
        return None

    # -- assigning -----------------------------------------------------------------------------------------------
    async def assign(
        self, conn: AsyncConnection, ticket_id: int, department: str | None, manager: int | None,
        *, only_manager: bool = False,
    ) -> int | None:
        """Assign a queued ticket (already locked by the caller) to the best free agent; the agent id or None."""
        now = self.clock.now()
        loads, last = await self._candidates(conn, department, manager, only_manager)
        choice = choose_agent(loads, manager, last)
        if choice.agent_id is None:
            return None
        res = await conn.execute(
            update(tickets)
            .where(and_(tickets.c.id == ticket_id, tickets.c.status == Status.QUEUED.value, tickets.c.assignee_id.is_(None)))
            .values(status=Status.ASSIGNED.value, assignee_id=choice.agent_id, updated_at=now)
        )
        if res.rowcount != 1:
            return None  # taken meanwhile (a manual claim)
        await ticket_store.note_assigned(conn, choice.agent_id, now)
        await ticket_store.add_trace(conn, ticket_id, now, "assigned", choice.why)
        log.info("ticket %s assigned to agent %s: %s", ticket_id, choice.agent_id, choice.why)
        return choice.agent_id

    async def _candidates(
        self, conn: AsyncConnection, department: str | None, manager: int | None, only_manager: bool
    ) -> tuple[list[AgentLoad], dict[int, datetime]]:
        # The manager is a candidate even when away, so the trace can say why someone else got the ticket.
        present = agents.c.presence == "online" if manager is None else or_(agents.c.presence == "online", agents.c.id == manager)
        rows = (await conn.execute(
            select(agents.c.id, agents.c.departments).where(and_(agents.c.active.is_(True), present))
        )).all()
        ids = sorted(
            r.id for r in rows
            if r.id == manager or (not only_manager and department is not None and department in (r.departments or ()))
        )
        if not ids:
            return [], {}
        lock = select(agents.c.id, agents.c.presence, agents.c.capacity, agents.c.last_assigned_at).where(
            agents.c.id.in_(ids)).order_by(agents.c.id)
        if conn.dialect.name == "postgresql":
            lock = lock.with_for_update()
        locked = (await conn.execute(lock)).all()
        active = dict((await conn.execute(
            select(tickets.c.assignee_id, func.count()).where(and_(tickets.c.assignee_id.in_(ids), tickets.c.status.in_(BUSY)))
            .group_by(tickets.c.assignee_id)
        )).all())
        loads = [AgentLoad(r.id, r.presence == "online", int(active.get(r.id, 0)), r.capacity) for r in locked]
        return loads, {r.id: r.last_assigned_at for r in locked if r.last_assigned_at is not None}

    async def run(self, departments: Iterable[str], agent_ids: Iterable[int] = ()) -> list[int]:
        """Offer the oldest queued tickets of these departments (and of the agents' departments and managed
        customers) until nobody can take the next one; returns the tickets assigned."""
        agent_ids = sorted(set(agent_ids))
        depts = set(departments)
        if agent_ids:
            async with self.db.read() as conn:
                rows = await conn.execute(select(agents.c.departments).where(agents.c.id.in_(agent_ids)))
                for r in rows:
                    depts.update(r.departments or ())
        auto = depts & self.auto_departments
        done: list[int] = []
        for dept in sorted(auto):
            done += await self._drain(tickets.c.department == dept)
        if self.prefer_manager:
            for aid in agent_ids:  # managed customers' tickets wait for their manager in any department
                done += await self._drain(customers.c.account_manager_id == aid)
        for tid in done:
            async with self.db.read() as conn:
                t = await ticket_store.get_ticket(conn, tid)
            await self.hub.events.ticket("ticket.updated", t)
        return done

    async def _drain(self, where: Any) -> list[int]:
        done: list[int] = []
        skip: set[int] = set()
        for _ in range(BATCH):
            async with self.db.write() as conn:
                q = (
                    select(tickets.c.id, tickets.c.department, customers.c.account_manager_id)
                    .join(customers, customers.c.id == tickets.c.customer_id)
                    .where(and_(tickets.c.status == Status.QUEUED.value, tickets.c.assignee_id.is_(None), where))
                    .order_by(tickets.c.created_at, tickets.c.id)
                    .limit(1)
                )
                if skip:
                    q = q.where(tickets.c.id.not_in(skip))
                if conn.dialect.name == "postgresql":
                    q = q.with_for_update(of=tickets, skip_locked=True)
                row = (await conn.execute(q)).first()
                if row is None:
                    return done
                manager = row.account_manager_id if self.prefer_manager else None
                auto = row.department in self.auto_departments
                agent = await self.assign(conn, row.id, row.department, manager, only_manager=not auto)
                if agent is not None:
                    facts.note("updated", row.id)  # its ticket.updated webhook commits with the assignment
            if agent is None:
                if auto:
                    return done  # nobody can take the oldest: nobody can take the younger ones either
                skip.add(row.id)  # this customer's manager is busy; the next one's may not be
                continue
            done.append(row.id)
        return done
