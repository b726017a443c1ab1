"""A bad survey answer becomes a complaint: a follow-up ticket of kind complaint, linked to the surveyed one
(parent_id), in the surveyed ticket's department, with the complaint SLA, assigned to the department's supervisor.

Opened once per survey: `surveys.complaint_ticket_id` is set in the transaction that creates the ticket, on the
condition that it was still empty.  A low score, and a comment still marked `comment_pending` (stored, not yet
judged by the classifier), are found again by the periodic sweep (`reconsider`), so a crash between storing the
answer and opening the ticket, or deciding none is needed, loses nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, select, update

from hub.bus import AGENTS
from hub.domain import Status
from hub.ports import RouteRequest
from hub.serialize import ticket_json
from hub.store import records
from hub.store import tickets as ticket_store
from hub.store.schema import agents, notes, surveys, tickets

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.surveys")


class _Taken(Exception):
    pass


class Complaints:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.cfg = hub.config.surveys

    async def consider(self, survey_id: int) -> int | None:
        """Open the complaint a bad answer calls for, or record that none is needed; idempotent, so the answer's own
        after-commit step and the sweep may both come here for one survey."""
        async with self.hub.db.read() as conn:
            s = (await conn.execute(select(surveys).where(surveys.c.id == survey_id))).first()
        if s is None:
            return None
        if s.complaint_ticket_id is not None:
            if s.comment_pending:
                await self._reviewed(s)  # its complaint is open already: one per survey
            return None
        why = None
        if s.score is not None and s.score <= self.cfg.low_score:
            why = f"survey score {s.score}/5 (at or below surveys.low_score {self.cfg.low_score})"
        elif s.comment_pending and s.comment:
            route = await self.hub.escalator.classify(
                RouteRequest(text=s.comment, channel=s.via or s.channel, now=self.hub.clock.now(), language_hint=s.language)
            )
            if route.kind == "complaint":
                prob = f" (p={route.complaint_probability:.2f})" if route.complaint_probability is not None else ""
                why = f"the survey comment reads as a complaint{prob}"
        if why is None:
            if s.comment_pending:
                await self._reviewed(s)
            return None
        return await self.open(s, why)

    async def _reviewed(self, s: Any) -> None:
        """The classifier's "no complaint" for this very comment: a newer comment stored meanwhile stays pending."""
        async with self.hub.db.write() as conn:
            same = surveys.c.comment.is_(None) if s.comment is None else surveys.c.comment == s.comment  # erased
            await conn.execute(update(surveys).where(and_(surveys.c.id == s.id, surveys.c.comment_pending.is_(True), same))
                               .values(comment_pending=None))

    async def reconsider(self, since: timedelta = timedelta(days=1), limit: int = 50) -> int:
        """Answers whose verdict a stopped process never committed: low scores answered lately with no complaint
        ticket yet, and comments the classifier has not read (whenever they came: the partial index holds only
        those)."""
        now = self.hub.clock.now()
        # Not the answers of the last moments: their own after-commit step is still on them.
        settled = now - timedelta(seconds=30)
        async with self.hub.db.read() as conn:
            ids = (
                await conn.execute(
                    # answered_at is indexed: the range of the last day, not every answer ever given.
                    select(surveys.c.id).where(and_(surveys.c.answered_at >= now - since, surveys.c.complaint_ticket_id.is_(None),
                                                    surveys.c.score <= self.cfg.low_score,
                                                    surveys.c.updated_at <= settled))
                    .limit(limit)
                )
            ).scalars().all()
            ids += (
                await conn.execute(
                    select(surveys.c.id).where(and_(surveys.c.comment_pending.is_(True), surveys.c.updated_at <= settled))
                    .order_by(surveys.c.updated_at).limit(limit)
                )
            ).scalars().all()
        for sid in dict.fromkeys(ids):
            try:
                await self.consider(sid)
            except Exception:  # one survey (a classifier error) must not hold up the others or the follow-ups
                log.exception("survey %s: complaint review failed; tried again next sweep", sid)
        return len(ids)

    async def open(self, s: Any, why: str) -> int | None:
        try:
            return await self._open(s, why)
        except _Taken:
            return None

    async def _open(self, s: Any, why: str) -> int | None:
        now = self.hub.clock.now()
        async with self.hub.db.write() as conn:
            orig = await ticket_store.get_ticket(conn, s.ticket_id)
            text = s.comment or f"Satisfaction score {s.score}/5 on ticket #{orig.id}"
            route = self.hub.router.route(RouteRequest(text=text, channel=orig.channel, now=now, language_hint=s.language,
                                                        kind_hint="complaint", repeat_contact=True))
            department = s.department or orig.department or route.department
            supervisor = await self._supervisor(conn, department)
            row = (
                await conn.execute(
                    insert(tickets).returning(*tickets.c),
                    dict(
                        customer_id=orig.customer_id, identity_id=orig.identity_id,
                        status=Status.ASSIGNED.value if supervisor else Status.QUEUED.value,
                        priority=route.priority if route.priority in ("high", "urgent") else "high",
                        department=department, kind="complaint", channel=orig.channel, language=s.language,
                        assignee_id=supervisor,
                        subject=f"Follow-up of #{orig.id}: {orig.subject or ''}".strip()[:200],
                        tags=list(dict.fromkeys([*route.tags, "survey"])), created_at=now, updated_at=now,
                        first_response_due=route.first_response_due, resolution_due=route.resolution_due,
                        breached=[], bot_state={}, parent_id=orig.id,
                    ),
                )
            ).one()
            t = records.ticket(row)
            claimed = await conn.execute(
                update(surveys).where(and_(surveys.c.id == s.id, surveys.c.complaint_ticket_id.is_(None)))
                .values(complaint_ticket_id=t.id, comment_pending=None, updated_at=now)
            )
            if claimed.rowcount != 1:
                raise _Taken()  # another process opened it first: roll this ticket back
            await self.hub.sla.on_ticket_opened(conn, t, route)
            await self.hub.webhooks.ticket_opened(conn, t, route)  # ticket.created commits with the ticket
            who = f"supervisor #{supervisor}" if supervisor else "the department queue (no supervisor)"
            await ticket_store.add_traces(conn, t.id, now, [
                ("opened", f"complaint follow-up of ticket #{orig.id}: {why}"),
                ("department", f"{department}: the surveyed ticket's department"),
                ("assigned", who),
            ])
            await ticket_store.add_trace(conn, orig.id, now, "survey", f"complaint follow-up #{t.id} opened: {why}")
            detail = [f"Survey on ticket #{orig.id}: {why}."]
            if s.score is not None:
                detail.append(f"Score: {s.score}/5")
            if s.nps is not None:
                detail.append(f"NPS: {s.nps}/10")
            if s.comment:
                detail.append(f"Comment: {s.comment}")
            await conn.execute(insert(notes).values(ticket_id=t.id, agent_id=None, text="\n".join(detail), created_at=now))
            supervisors = await self.hub.sla._supervisors(conn, {department} - {""})
        log.info("survey %s: complaint follow-up ticket %s (%s)", s.id, t.id, why)
        await self.hub.events.ticket("ticket.created", t)
        await self.hub.bus.publish(AGENTS, {"type": "ticket.escalated", "ticket": ticket_json(t), "why": why,
                                            "supervisors": supervisors})
        return t.id

    async def _supervisor(self, conn: Any, department: str) -> int | None:
        ids = await self.hub.sla._supervisors(conn, {department} - {""})
        if not ids:
            return None
        rows = (await conn.execute(select(agents.c.id, agents.c.presence).where(agents.c.id.in_(ids)))).all()
        online = [r.id for r in rows if r.presence == "online"]
        return (online or ids)[0]
