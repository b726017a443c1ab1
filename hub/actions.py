"""What agents, the bot and the scheduler do to tickets: each action is one transaction, its status change goes
through the status machine, its events are published after commit, and its replies go through the outbox."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import insert, select

from hub import audit, labels, mentions
from hub import status as machine
from hub.clock import Clock
from hub.config import Config
from hub.domain import OPEN_VALUES as OPEN, Agent, Author, Button, Direction, Message, Role, Status, Ticket
from hub.errors import ConflictError, Invalid, NotFoundError
from hub.events import Events
from hub.outbox import Outbox
from hub.store import facts, records
from hub.store import tickets as store
from hub.store.db import Database
from hub.store.schema import agents, notes, tickets



class Actions:
    def __init__(self, db: Database, events: Events, outbox: Outbox, config: Config, clock: Clock) -> None:
        self.db, self.events, self.outbox, self.config, self.clock = db, events, outbox, config, clock
        # async fn(conn, ticket, values, now), run just before a change is written, in its transaction (SLA jobs)
        self.on_change: list[Any] = []

    async def _changing(self, conn: Any, t: Ticket, values: dict[str, Any], now: Any) -> None:
        for hook in self.on_change:
            await hook(conn, t, values, now)

    async def _ticket(self, conn: Any, ticket_id: int) -> Ticket:
        # The row is locked first (PostgreSQL; SQLite has one writer anyway): an action's hooks write the ticket's
        # jobs before its UPDATE, while after-commit work (the language review, SLA re-arming) updates the ticket and
        # then its jobs; one lock order for both keeps them from deadlocking.
        try:
            return await store.get_ticket(conn, ticket_id, lock=True)
        except store.NotFound:
            raise NotFoundError(f"ticket {ticket_id} does not exist") from None

    @staticmethod
    def _may_touch(agent: Agent, t: Ticket) -> None:
        """Agents work their own and unassigned tickets; supervisors and admins any."""
        if agent.role is Role.AGENT and t.assignee_id not in (None, agent.id):
            raise ConflictError(f"ticket {t.id} is assigned to another agent")

    async def _updated(self, ticket_id: int) -> Ticket:
        async with self.db.read() as conn:
            t = await store.get_ticket(conn, ticket_id)
        await self.events.ticket("ticket.updated", t)
        return t

    async def claim(self, ticket_id: int, agent: Agent) -> Ticket:
        now = self.clock.now()
        async with self.db.write() as conn:
            t = await self._ticket(conn, ticket_id)
            if t.assignee_id == agent.id and t.status is Status.ASSIGNED:
                return t
            if t.assignee_id is not None and t.status.value in OPEN:
                raise ConflictError(f"ticket {ticket_id} is already claimed", assignee_id=t.assignee_id)
            # A resolved ticket still belongs to whoever resolved it: an agent cannot take it over by claiming.
            self._may_touch(agent, t)
            machine.check(t.status, Status.ASSIGNED)
            ok = await store.set_status(
                conn, ticket_id, [s for s in machine.allowed_from(Status.ASSIGNED) if s != "assigned"], now,
                status=Status.ASSIGNED.value, assignee_id=agent.id,
            )
            # The conditional update is the arbiter: of two simultaneous claims exactly one applies.
            if not ok:
                raise ConflictError(f"ticket {ticket_id} was claimed by someone else")
            await store.note_assigned(conn, agent.id, now)
            await store.add_trace(conn, ticket_id, now, "claimed", f"by {agent.name} (#{agent.id})")
            facts.note("updated", ticket_id)
            await _audit(conn, "ticket.claim", agent, t, now)
        return await self._updated(ticket_id)

    async def reply(self, ticket_id: int, agent: Agent, text: str) -> Message:
        text = _clean(text, self.config.server.max_text)
        now = self.clock.now()
        async with self.db.write() as conn:
            t = await self._ticket(conn, ticket_id)
            self._may_touch(agent, t)
            if t.status is Status.CLOSED:
                raise ConflictError(f"ticket {ticket_id} is closed")
            values: dict[str, Any] = {}
            if t.assignee_id is None:  # replying to an unclaimed ticket takes it
                values.update(assignee_id=agent.id)
            if t.status in (Status.BOT, Status.QUEUED, Status.RESOLVED):
                values["status"] = Status.ASSIGNED.value
                if t.status is Status.RESOLVED:
                    values["resolved_at"] = None
            if t.first_response_at is None:
                values["first_response_at"] = now
            await self._changing(conn, t, values, now)
            await store.update_ticket(conn, ticket_id, {"updated_at": now, **values}, returning=False)
            msg, oid = await self._outgoing(conn, t, Author.AGENT, text, now, agent_id=agent.id)
            if "assignee_id" in values:
                await store.add_trace(conn, ticket_id, now, "claimed", f"by {agent.name} (#{agent.id}) on reply")
            await _audit(conn, "ticket.reply", agent, t, now, message_id=msg.id)
            t = await store.get_ticket(conn, ticket_id)
        self.outbox.kick(oid, claimed=True)
        await self.events.message(msg, t)
        return msg

    async def _outgoing(
        self,
        conn: Any,
        t: Ticket,
        author: Author,
        text: str,
        now: Any,
        *,
        agent_id: int | None = None,
        buttons: Sequence[Button] = (),
        automatic: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> tuple[Message, int]:
        meta = dict(meta or {})
        if buttons:
            meta["buttons"] = [asdict(b) for b in buttons]
        msg = await store.insert_message(
            conn, ticket_id=t.id, direction=Direction.OUT, author=author, text=text, channel=t.channel, at=now,
            agent_id=agent_id, automatic=automatic, delivery="pending", meta=meta,
        )
        oid = await store.enqueue_outbound(conn, msg.id, t.channel, now, claimed_until=now + self.outbox.lock)
        return msg, oid

    async def post_automatic(
        self,
        ticket_id: int,
        author: Author,
        text: str,
        *,
        only_if: Sequence[Status] = (Status.BOT,),
        buttons: Sequence[Button] = (),
        meta: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Message | None:
        """A bot answer or system notice, sent only while the ticket is still in one of `only_if`.  The status
        check and the insert share one transaction, so after a handoff commits no bot message can follow it."""
        now = self.clock.now()
        async with self.db.write() as conn:
            extra: dict[str, Any] = {"bot_state": state} if state is not None else {}
            extra.update(values or {})  # other bot columns (bot_misses, last_notice_at), under the same check
            if not await store.set_status(conn, ticket_id, [s.value for s in only_if], now, **extra):
                return None
            t = await store.get_ticket(conn, ticket_id)
            msg, oid = await self._outgoing(conn, t, author, text, now, buttons=buttons, automatic=True, meta=meta)
        self.outbox.kick(oid, claimed=True)
        await self.events.message(msg, t)
        return msg

    async def handoff(self, ticket_id: int, reason: str, state: dict[str, Any] | None = None,
                      values: dict[str, Any] | None = None) -> bool:
        """Bot -> queue, atomically: returns False when the ticket had already left the bot."""
        now = self.clock.now()
        async with self.db.write() as conn:
            extra: dict[str, Any] = {"bot_state": state} if state is not None else {}
            extra.update(values or {})
            if not await store.set_status(conn, ticket_id, [Status.BOT.value], now, status=Status.QUEUED.value, **extra):
                return False
            await store.add_trace(conn, ticket_id, now, "handoff", reason)
            facts.note("updated", ticket_id)
        await self._updated(ticket_id)
        return True

    async def note(self, ticket_id: int, agent: Agent, text: str) -> dict[str, Any]:
        text = _clean(text, self.config.server.max_text)
        now = self.clock.now()
        async with self.db.write() as conn:
            t = await self._ticket(conn, ticket_id)
            nid = (await conn.execute(insert(notes).values(ticket_id=ticket_id, agent_id=agent.id, text=text, created_at=now).returning(notes.c.id))).scalar_one()
            await _audit(conn, "ticket.note", agent, t, now, note_id=nid)
            # Stored with the note: a mention made while its agent is away is waiting at their next login.
            named = await mentions.record(conn, note_id=nid, ticket_id=ticket_id, author_id=agent.id, text=text, now=now)
            notices = await mentions.of_note(conn, nid)
        note = {"id": nid, "ticket_id": ticket_id, "agent_id": agent.id, "text": text, "created_at": now.isoformat(), "mentions": named}
        await self.events.raw({"type": "note.created", "note": note})
        for m in notices:
            await self.events.raw({"type": "mention", "mention": m})
        return note

    async def transfer(self, ticket_id: int, agent: Agent, department: str | None, agent_id: int | None) -> Ticket:
        if (department is None) == (agent_id is None):
            raise Invalid("give exactly one of department or agent_id", field="department")
        now = self.clock.now()
        async with self.db.write() as conn:
            t = await self._ticket(conn, ticket_id)
            self._may_touch(agent, t)
            if t.status.value not in OPEN:
                raise ConflictError(f"a {t.status.value} ticket cannot be transferred")
            if department is not None:
                if self.config.department(department) is None:
                    raise Invalid(f"unknown department {department!r}", field="department")
                values = {"department": department, "assignee_id": None, "status": Status.QUEUED.value}
                why = f"to department {department} by {agent.name}"
            else:
                row = (await conn.execute(select(agents).where(agents.c.id == agent_id))).first()
                if row is None or not row.active:
                    raise Invalid(f"no active agent {agent_id}", field="agent_id")
                values = {"assignee_id": agent_id, "status": Status.ASSIGNED.value}
                why = f"to agent {row.name} (#{agent_id}) by {agent.name}"
            machine.check(t.status, values["status"])
            await self._changing(conn, t, values, now)
            await store.update_ticket(conn, ticket_id, {"updated_at": now, **values}, returning=False)
            await store.add_trace(conn, ticket_id, now, "transferred", why)
            facts.note("updated", ticket_id)
            await _audit(conn, "ticket.transfer", agent, t, now, department=department, agent_id=agent_id)
            if department is not None and department != t.department:
                await labels.record(conn, ticket_id=ticket_id, source="transferred", now=now, language=t.language,
                                    department=department, agent_id=agent.id)
        return await self._updated(ticket_id)

    async def set_status(self, ticket_id: int, agent: Agent | None, wanted: Status, why: str) -> Ticket:
        """resolve / reopen / pending / close through the status machine (409 on an invalid move)."""
        now = self.clock.now()
        async with self.db.write() as conn:
            t = await self._ticket(conn, ticket_id)
            if agent is not None:
                self._may_touch(agent, t)
            try:
                machine.check(t.status, wanted)
            except machine.InvalidTransition as exc:
                raise ConflictError(str(exc)) from None
            values: dict[str, Any] = {"status": wanted.value}
            if wanted is Status.RESOLVED:
                values["resolved_at"] = now
            elif wanted is Status.CLOSED:
                values["closed_at"] = now
            elif wanted is Status.PENDING:
                values["sla_paused_at"] = now
            else:
                values["resolved_at"] = None
                if wanted is Status.QUEUED and t.assignee_id is not None and t.status is Status.RESOLVED:
                    values["status"] = Status.ASSIGNED.value
            await self._changing(conn, t, values, now)
            if not await store.set_status(conn, ticket_id, [t.status.value], now, **values):
                raise ConflictError(f"ticket {ticket_id} changed meanwhile; try again")
            facts.note("updated", ticket_id)
            who = f" by {agent.name}" if agent else ""
            await store.add_trace(conn, ticket_id, now, values["status"], f"{why}{who}")
            if agent is not None:
                await _audit(conn, _STATUS_ACTIONS.get(wanted, "ticket.resolve"), agent, t, now,
                             status_from=t.status.value, status_to=values["status"])
            closing = await self._closing(conn, t, now) if wanted is Status.RESOLVED and agent is not None else None
        if closing is not None:
            self.outbox.kick(closing[1], claimed=True)
            await self.events.message(closing[0], t)
        return await self._updated(ticket_id)

    async def _closing(self, conn: Any, t: Ticket, now: Any) -> tuple[Message, int] | None:
        """An agent resolved the conversation: the customer is told so, in their language, on their channel (with
        the resolution, in its transaction).  Not on a channel without a written address or one switched off."""
        texts = self.config.tickets.closing_message
        text = texts.get((t.language or "en")[:2]) or texts.get("en")
        if not text or t.channel == "callback" or t.channel not in self.outbox.channels:
            return None
        return await self._outgoing(conn, t, Author.SYSTEM, text, now, automatic=True, meta={"closing": True})

    async def release_agent(self, conn: Any, agent_id: int, by: Agent, now: Any) -> list[int]:
        """A deactivated agent's open tickets lose their assignee inside the deactivation's transaction, so none
        waits on someone who is gone: an assigned one goes back to its department's queue, a pending one keeps
        waiting on the customer and comes to the queue when they write.  The ids, for `announce` after commit."""
        rows = (await conn.execute(
            select(tickets).where(tickets.c.assignee_id == agent_id, tickets.c.status.in_(OPEN)))).all()
        for row in rows:
            t = records.ticket(row)
            values: dict[str, Any] = {"assignee_id": None}
            if t.status is Status.ASSIGNED:
                values["status"] = Status.QUEUED.value
            await self._changing(conn, t, values, now)
            await store.update_ticket(conn, t.id, {"updated_at": now, **values}, returning=False)
            await store.add_trace(conn, t.id, now, "released",
                                  f"back to the queue: agent #{agent_id} deactivated by {by.name}")
            facts.note("updated", t.id)
        return [r.id for r in rows]

    async def announce(self, ticket_ids: Sequence[int]) -> None:
        for tid in ticket_ids:
            await self._updated(tid)


_STATUS_ACTIONS = {Status.RESOLVED: "ticket.resolve", Status.QUEUED: "ticket.reopen", Status.PENDING: "ticket.pending",
                   Status.CLOSED: "ticket.resolve"}


async def _audit(conn: Any, action: str, agent: Agent, t: Ticket, now: Any, **detail: Any) -> None:
    await audit.record(conn, action, actor=agent, target_type="ticket", target_id=t.id, customer_id=t.customer_id,
                       at=now, detail={k: v for k, v in detail.items() if v is not None})


def _clean(text: Any, limit: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("text must be a non-empty string", field="text")
    if len(text) > limit:
        raise Invalid(f"text is longer than {limit} characters", field="text")
    return text.replace("\x00", "")
