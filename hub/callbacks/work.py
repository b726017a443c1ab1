"""Changing a booked callback: agents claim it and record the outcome; customers (with their manage token) or
agents move or cancel it.  Each change is one transaction that also moves its scheduler jobs, its ticket and the
notice to the customer; events go out after commit."""
from __future__ import annotations

import hmac
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, update

from hub import audit, dates
from hub.callbacks import store
from hub.callbacks.service import CallbackService, SlotFull, token_hash
from hub.callbacks.slots import Slot
from hub.callbacks.texts import say, window
from hub.callbacks.values import ACTIVE, FINAL, OUTCOMES, human, mask, zone
from hub.domain import Agent, Identity, Message, Role, Status
from hub.errors import ConflictError, Invalid, NotFoundError
from hub.store import customers as customer_store
from hub.store import facts
from hub.store import tickets as ticket_store
from hub.store.schema import callbacks, tickets

log = logging.getLogger("hub.callbacks")
OPEN = tuple(s.value for s in (Status.BOT, Status.QUEUED, Status.ASSIGNED, Status.PENDING))


class CallbackWork:
    def __init__(self, service: CallbackService) -> None:
        self.s = service
        self.db, self.clock, self.config = service.db, service.clock, service.config

    async def _row(self, conn: Any, callback_id: int) -> Any:
        row = await store.get(conn, callback_id, for_update=True)
        if row is None:
            raise NotFoundError(f"callback {callback_id} does not exist")
        return row

    async def check_token(self, callback_id: int, token: str | None) -> Any:
        """The callback if `token` is its manage token; 404 otherwise, so ids cannot be probed."""
        async with self.db.read() as conn:
            row = await store.get(conn, callback_id)
        if row is None or not token or not row.manage_hash or not hmac.compare_digest(row.manage_hash, token_hash(token)):
            raise NotFoundError("no such callback")
        return row

    # -- agents ----------------------------------------------------------------------------------------------------
    async def claim(self, callback_id: int, agent: Agent) -> dict[str, Any]:
        now = self.clock.now()
        async with self.db.write() as conn:
            row = await self._row(conn, callback_id)
            if row.status == "claimed" and row.assignee_id == agent.id:
                return store.callback_json(row)
            if row.status not in ("scheduled", "due"):
                raise ConflictError(f"callback {callback_id} is already {row.status}", assignee_id=row.assignee_id)
            res = await conn.execute(
                update(callbacks)
                .where(and_(callbacks.c.id == callback_id, callbacks.c.status.in_(("scheduled", "due"))))
                .values(status="claimed", assignee_id=agent.id, updated_at=now)
            )
            if res.rowcount != 1:  # the conditional update decides between simultaneous claims
                raise ConflictError(f"callback {callback_id} was claimed by someone else")
            # The agent who makes the call owns the ticket, unless someone already does.
            if await ticket_store.set_status(conn, row.ticket_id, ["bot", "queued"], now, status=Status.ASSIGNED.value, assignee_id=agent.id):
                await ticket_store.add_trace(conn, row.ticket_id, now, "claimed", f"callback {callback_id} by {agent.name} (#{agent.id})")
            await audit.record(conn, "callback.claim", actor=agent, target_type="callback", target_id=callback_id,
                               customer_id=row.customer_id, at=now, detail={"ticket_id": row.ticket_id})
            facts.note("updated", row.ticket_id)  # the ticket.updated its _after publishes commits here
            row = await store.get(conn, callback_id)
        cb = store.callback_json(row)
        await self.s._after(row.ticket_id, None, {"type": "callback.claimed", "callback": cb})
        return cb

    async def outcome(self, callback_id: int, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        outcome = data.get("outcome")
        if outcome not in OUTCOMES:
            raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
        note = data.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > 2000):
            raise Invalid("note must be a string of at most 2000 characters", field="note")
        note = note.replace("\x00", "") if note else None
        new: tuple[Slot, datetime, datetime] | None = None
        if outcome == "reschedule":
            nw = data.get("new_window")
            if not isinstance(nw, dict):
                raise Invalid("new_window is required to reschedule: {window_start, window_end} or {slot}", field="new_window")
            async with self.db.read() as conn:
                tz_name = (await self._row(conn, callback_id)).tz
            new = self.s.window(nw, zone(nw.get("tz") or tz_name, "new_window.tz"), prefix="new_window.")
        try:
            return await self._outcome(callback_id, agent, outcome, note, new)
        except SlotFull:
            assert new is not None
            async with self.db.read() as conn:
                row = await self._row(conn, callback_id)
            raise await self._failed_move(row, new[0]) from None

    async def _outcome(self, callback_id: int, agent: Agent, outcome: str, note: str | None, new: tuple[Slot, datetime, datetime] | None) -> dict[str, Any]:
        now = self.clock.now()
        sent: tuple[Message, int] | None = None
        async with self.db.write() as conn:
            row = await self._row(conn, callback_id)
            if row.status in FINAL:
                raise ConflictError(f"callback {callback_id} is already {row.status}")
            if row.status == "claimed" and row.assignee_id not in (None, agent.id) and agent.role is Role.AGENT:
                raise ConflictError(f"callback {callback_id} is claimed by another agent", assignee_id=row.assignee_id)
            attempts = row.attempts + (0 if outcome == "reschedule" else 1)
            values: dict[str, Any] = {"outcome": outcome, "note": note, "attempts": attempts, "updated_at": now, "assignee_id": agent.id}
            t = await ticket_store.get_ticket(conn, row.ticket_id)
            await audit.record(conn, "callback.outcome", actor=agent, target_type="callback", target_id=callback_id,
                               customer_id=row.customer_id, at=now, detail={"ticket_id": t.id, "outcome": outcome})
            if t.first_response_at is None:  # the call (even unanswered) is the response the "call by" SLA asks for
                await conn.execute(update(tickets).where(tickets.c.id == t.id).values(first_response_at=now))
            fmt = dict(phone=mask(row.phone), tz=row.tz, attempts=attempts)
            closing: tuple[str, str] | None = None
            if outcome == "reached":
                values["status"] = "done"
                closing = ("resolved", f"callback {callback_id}: customer reached by {agent.name}")
            elif outcome == "wrong_number":
                values["status"] = "done"
                await customer_store.mark_unreachable(conn, Identity("phone", row.phone), "wrong number",
                                                     customer_id=row.customer_id)
                closing = ("closed", f"callback {callback_id}: wrong number ({agent.name})")
            elif outcome == "no_answer" and attempts >= self.config.max_attempts:
                values["status"] = "unreachable"
                sent = await store.notice(conn, t.id, say("unreachable", row.lang, **fmt), now, self.s.writable)
                closing = ("closed", f"callback {callback_id}: unreachable after {attempts} attempts")
            elif outcome == "no_answer":
                slot, start, end = self._retry_window(now, row.window_end - row.window_start)
                values.update(status="scheduled", assignee_id=None, window_start=start, window_end=end, slot_start=slot.start, escalated_at=None)
                await conn.execute(update(tickets).where(tickets.c.id == t.id).values(first_response_due=end, updated_at=now))
                await store.schedule_jobs(conn, callback_id, start, end, now, None)
                await ticket_store.add_trace(conn, t.id, now, "callback", f"no answer (attempt {attempts} of {self.config.max_attempts}); next try {start.isoformat()}")
            else:
                assert new is not None
                sent = await self._move(conn, row, new, now, values)
            await conn.execute(update(callbacks).where(callbacks.c.id == callback_id).values(**values))
            if closing is not None:
                await store.cancel_jobs(conn, callback_id)
                await self._close_ticket(conn, row, closing, now)
            _changed(row)
            row = await store.get(conn, callback_id)
        cb = store.callback_json(row)
        log.info("callback %s outcome %s by agent %s (%s)", callback_id, outcome, agent.id, mask(row.phone))
        await self.s._after(row.ticket_id, sent, {"type": "callback.updated", "callback": cb})
        return cb

    def _retry_window(self, now: datetime, length: timedelta) -> tuple[Slot, datetime, datetime]:
        """The next try: after the retry delay, moved to the next open time when that falls outside hours."""
        at = now + self.config.retry_delay
        for a, b in self.s.grid.spans(at, at + timedelta(days=self.config.horizon_days)):
            if b <= at:
                continue
            start = max(a, at)
            end = min(start + length, b)
            return self.s.grid.slot_for_window(start, end) or Slot(start, end), start, end
        return Slot(at, at + length), at, at + length  # no open hours configured ahead: try anyway

    async def _move(self, conn: Any, row: Any, new: tuple[Slot, datetime, datetime], now: datetime, values: dict[str, Any]) -> tuple[Message, int] | None:
        slot, start, end = new
        await store.lock_slot(conn, slot.start)
        taken = await store.booked_in(conn, slot.start) - (1 if row.slot_start == slot.start and row.status in ACTIVE else 0)
        if taken >= await self.s.capacity(conn):
            raise SlotFull("this time is fully booked; pick another", field="slot")
        values.update(status="scheduled", assignee_id=None, window_start=start, window_end=end, slot_start=slot.start,
                      reminded_at=None, escalated_at=None)
        await conn.execute(update(tickets).where(tickets.c.id == row.ticket_id).values(first_response_due=end, updated_at=now))
        await store.schedule_jobs(conn, row.id, start, end, now, self.s.remind_at(start))
        await ticket_store.add_trace(conn, row.ticket_id, now, "callback", f"moved to {human(start, row.tz)}-{human(end, row.tz)[11:]} {row.tz}")
        fmt = dict(phone=mask(row.phone), **window(start, end, row.tz, row.lang))
        return await store.notice(conn, row.ticket_id, say("rescheduled", row.lang, **fmt), now, self.s.writable)

    async def _close_ticket(self, conn: Any, row: Any, closing: tuple[str, str], now: datetime) -> None:
        status, why = closing
        if await store.others_active(conn, row.ticket_id, row.id):
            await ticket_store.add_trace(conn, row.ticket_id, now, "callback", why + "; other callbacks remain")
            return
        extra = {"resolved_at": now} if status == "resolved" else {"closed_at": now}
        if await ticket_store.set_status(conn, row.ticket_id, list(OPEN), now, status=status, **extra):
            await ticket_store.add_trace(conn, row.ticket_id, now, status, why)

    async def _failed_move(self, row: Any, slot: Slot) -> SlotFull:
        free = await self.s.next_free(slot.start)
        return SlotFull("this time is fully booked; pick another", field="slot", slots=[self.s.slot_json(s, row.tz) for s in free])

    # -- customers (manage token) -------------------------------------------------------------------------------------
    async def reschedule(self, callback_id: int, token: str | None, data: dict[str, Any]) -> dict[str, Any]:
        row = await self.check_token(callback_id, token)
        new = self.s.window(data, zone(data.get("tz") or row.tz))
        now = self.clock.now()
        try:
            async with self.db.write() as conn:
                row = await self._row(conn, callback_id)
                if row.status not in ("scheduled", "due"):
                    raise ConflictError(f"callback {callback_id} is {row.status} and can no longer be moved")
                values: dict[str, Any] = {"updated_at": now}
                sent = await self._move(conn, row, new, now, values)
                await conn.execute(update(callbacks).where(callbacks.c.id == callback_id).values(**values))
                _changed(row)
                row = await store.get(conn, callback_id)
        except SlotFull:
            raise await self._failed_move(row, new[0]) from None
        cb = store.callback_json(row)
        await self.s._after(row.ticket_id, sent, {"type": "callback.updated", "callback": cb})
        return cb

    async def cancel(self, callback_id: int, token: str | None) -> dict[str, Any]:
        await self.check_token(callback_id, token)
        now = self.clock.now()
        async with self.db.write() as conn:
            row = await self._row(conn, callback_id)
            if row.status == "cancelled":
                return store.callback_json(row)
            if row.status not in ("scheduled", "due"):
                raise ConflictError(f"callback {callback_id} is {row.status} and can no longer be cancelled")
            await conn.execute(update(callbacks).where(callbacks.c.id == callback_id).values(status="cancelled", outcome=None, updated_at=now))
            await store.cancel_jobs(conn, callback_id)
            fmt = dict(start=dates.when(row.window_start, row.tz, row.lang), tz=row.tz)
            sent = await store.notice(conn, row.ticket_id, say("cancelled", row.lang, **fmt), now, self.s.writable)
            await self._close_ticket(conn, row, ("resolved", f"callback {callback_id} cancelled by the customer"), now)
            _changed(row)
            row = await store.get(conn, callback_id)
        cb = store.callback_json(row)
        await self.s._after(row.ticket_id, sent, {"type": "callback.updated", "callback": cb})
        return cb


def _changed(row: Any) -> None:
    """In the transaction that changes a callback: its `callback.outcome` and its ticket's `ticket.updated`
    webhooks commit with the change (the `_after` events published after the commit name the same ones)."""
    facts.note("callback.updated", row.id)
    facts.note("updated", row.ticket_id)
