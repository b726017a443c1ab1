"""The ticket changes a language review decides (hub.escalation): raising a ticket to a complaint, naming a ticket
opened without a title, and the model's kind for a ticket's first message.  Each is a conditional write, so a
review repeated after a crash, or made by two processes, changes the ticket once.

A review batch's changes share one write transaction (`apply`): each writes its ticket's conditional UPDATE inside
it and returns what it publishes once the transaction has committed, so agents never hear of a change that could
still roll back.  What follows from the UPDATEs (trace lines, SLA jobs re-armed) is gathered in a `Batch` and
written once for the whole batch, in two statements rather than two per escalation: under load a review batch
raises dozens of tickets (a mailbox's backlog), and each statement costs more in the hub than in the database."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.bus import AGENTS
from hub.domain import Inbound, Status
from hub import scheduler
from hub.labels import PRIORITY_RANK
from hub.metrics import ESCALATIONS
from hub.ports import RouteResult
from hub.serialize import ticket_json
from hub.sla import JobRow
from hub.store import facts, records
from hub.store import tickets as ticket_store
from hub.titles import title_of

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.escalation")

__all__ = ["Batch", "Change", "apply", "escalate", "name", "rekind"]


@dataclass
class Batch:
    """The writes a review batch's changes leave for the end of its transaction, and what they read once."""

    traces: list[tuple[int, str, str]] = field(default_factory=list)  # (ticket id, what, why), in order
    opened: list[JobRow] = field(default_factory=list)  # new tickets' SLA jobs, left by their opens to the review
    arm: list[JobRow] = field(default_factory=list)  # SLA jobs to (re-)arm
    stop: list[str] = field(default_factory=list)  # SLA job keys to stop
    supervisors_of: dict[str, list[int]] = field(default_factory=dict)  # by department, read once per batch

    async def write(self, hub: Hub, conn: AsyncConnection, now: datetime) -> None:
        # The ticket rows were updated first, so these only add to them: their order among the tickets is free.
        # A new ticket's jobs that a change here re-arms or stops are written once, as the change has them; the
        # others only under keys no job holds (a transfer since the open armed its own).
        changed = {k for _, k, _, _ in self.arm}.union(self.stop)
        await scheduler.schedule_new_many(conn, [r for r in self.opened if r[1] not in changed])
        await hub.sla.write_jobs(conn, self.arm, self.stop)
        await ticket_store.add_trace_rows(conn, now, self.traces)


Publish = Callable[[], Awaitable[None]]
# A change bound to its ticket, written in `apply`: it writes its UPDATE and leaves the rest in the batch.
Change = Callable[[AsyncConnection, Batch], Awaitable[Publish | None]]


async def apply(hub: Hub, changes: Sequence[Change], now: datetime, opened: Sequence[JobRow] = ()) -> None:
    """Write the changes in one transaction, in order, then publish what each changed.  `opened`: the SLA jobs of
    the tickets the reviewed messages opened (hub.placement's `armed_by_review`)."""
    if not changes and not opened:
        return
    batch = Batch(opened=list(opened))
    async with hub.db.write() as conn:
        published = [p for change in changes if (p := await change(conn, batch)) is not None]
        await batch.write(hub, conn, now)
    for publish in published:
        await publish()


async def escalate(hub: Hub, conn: AsyncConnection, batch: Batch, row: Any, route: RouteResult,
                   now: datetime) -> Publish | None:
    """Raise the ticket to a complaint: kind, priority (never lowered), tags, department while unowned, SLA brought
    forward; the reason in the trace, `ticket.updated` to agents and `ticket.escalated` naming the supervisors."""
    values: dict[str, Any] = {"kind": "complaint"}
    trace: list[tuple[str, str]] = []
    prob = f"p={route.complaint_probability:.2f}" if route.complaint_probability is not None else route.detector
    trace.append(("kind", f"raised to complaint by a customer message ({prob}, {route.detector}); "
                          f"was {row.kind}"))
    if PRIORITY_RANK.get(route.priority, 1) > PRIORITY_RANK.get(row.priority, 1):
        values["priority"] = route.priority
        trace.append(("priority", f"{route.priority}: complaint (was {row.priority})"))
    tags = list(dict.fromkeys([*(row.tags or ()), *route.tags]))
    if tags != list(row.tags or ()):
        values["tags"] = tags
    unowned = row.assignee_id is None and row.status in (Status.BOT.value, Status.QUEUED.value)
    if unowned and route.department and route.department != row.department:
        values["department"] = route.department
        trace.append(("department", f"{route.department}: complaint routing (was {row.department})"))
    for target in ("first_response", "resolution"):
        due_new = getattr(route, f"{target}_due")
        due_old = getattr(row, f"{target}_due")
        if target == "first_response" and row.first_response_at is not None:
            continue
        if due_new is not None and (due_old is None or due_new < due_old):
            values[f"{target}_due"] = due_new
    if "first_response_due" in values or "resolution_due" in values:
        how = next((why for what, why in route.trace if what == "sla"), None)  # the policy and its overrides
        trace.append(("sla", f"complaint SLA ({route.sla_policy}): deadlines brought forward" + (f"; {how}" if how else "")))
    # Conditional on the kind, so two processes (or two messages) escalate once.
    changed = await ticket_store.update_ticket(conn, row.id, {"updated_at": now, **values}, guard="not_complaint")
    if changed is None:
        return None
    facts.note("updated", row.id)
    t = records.ticket(changed)
    if "first_response_due" in values or "resolution_due" in values:
        arm, stop = hub.sla.jobs_for(t, route)
        batch.arm += arm
        batch.stop += stop
    batch.traces += [(row.id, what, why) for what, why in trace]
    dept = t.department or ""
    supervisors = batch.supervisors_of.get(dept)
    if supervisors is None:
        supervisors = batch.supervisors_of[dept] = await hub.sla._supervisors(conn, {dept} - {""})

    async def publish() -> None:
        ESCALATIONS.inc()
        log.info("ticket %s raised to complaint (%s)", row.id, prob)
        await hub.events.ticket("ticket.updated", t)
        await hub.bus.publish(AGENTS, {"type": "ticket.escalated", "ticket": ticket_json(t),
                                       "why": trace[0][1], "supervisors": supervisors})
    return publish


async def name(hub: Hub, conn: AsyncConnection, batch: Batch, row: Any, inbound: Inbound,
               now: datetime) -> Publish | None:
    """A ticket opened by a greeting takes its title from the first message with content (after the commit,
    off the acknowledgement's path)."""
    title = title_of(inbound.text, row.language or inbound.sender_lang)
    if title is None:
        return None
    changed = await ticket_store.update_ticket(conn, row.id, {"subject": title, "updated_at": now}, guard="untitled")
    if changed is None:
        return None
    facts.note("updated", row.id)
    return _updated(hub, records.ticket(changed))


async def rekind(hub: Hub, conn: AsyncConnection, batch: Batch, row: Any, route: RouteResult,
                 now: datetime) -> Publish | None:
    """The first message, read by the model: a calmer kind than the keywords guessed (or a sales lead)."""
    values: dict[str, Any] = {"kind": route.kind}
    trace = [("kind", f"{route.kind}: the model's reading of the first message (keywords said {row.kind})")]
    if route.kind == "sales" and row.assignee_id is None and route.department != row.department:
        values["department"] = route.department
        trace.append(("department", f"{route.department}: sales lead"))
    changed = await ticket_store.update_ticket(conn, row.id, {"updated_at": now, **values}, guard="kind", kind=row.kind)
    if changed is None:
        return None
    batch.traces += [(row.id, what, why) for what, why in trace]
    facts.note("updated", row.id)
    return _updated(hub, records.ticket(changed))


def _updated(hub: Hub, t: Any) -> Publish:
    async def publish() -> None:
        await hub.events.ticket("ticket.updated", t)
    return publish
