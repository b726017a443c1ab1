"""Follow-ups: "check in with the customer in N days".

A follow-up is a reminder for an agent (it falls due on the agent socket and in their list) or a prepared message
sent on the customer's channel at a time in the customer's own zone inside the company's open hours, so nobody is
written to at night.  A complaint resolved with a fix gets a check-in ("is it still working?"); its answer confirms
the fix or reopens the complaint.  Messages go out through the outbox, a limited number per channel per hour:
a follow-up over the limit waits for the next hour instead of going out in a blast.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.bus import AGENTS
from hub.domain import NO_ANSWER, Agent, Button, Inbound, Status
from hub.errors import ConflictError, Invalid, NotFoundError
from hub.inbound_store import Claimed
from hub.store import facts
from hub.store import tickets as ticket_store
from hub.store.prepared import Prepared
from hub.store.schema import followups, messages
from hub.surveys import optout
from hub.surveys.plan import CHAT, Sent, post
from hub.surveys.records import followup_json
from hub.surveys.texts import lang_of, say, yes_no
from hub.surveys.zones import customer_zone, next_open, valid_zone

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.surveys")
MODES = ("reminder", "message")
LIVE = ("scheduled", "due", "sent")
RATE_WINDOW = timedelta(hours=1)
# Asked of every mail and chat message of a known customer (the intake's interceptor): built once, so each look
# costs the query and not the building of it.
# Looked up for every message of a known customer (the intake's interceptor), so prepared (hub.store.prepared).
_LAST_CHECKIN = Prepared(
    select(followups)
    .where(and_(followups.c.customer_id == bindparam("cid"), followups.c.state == "sent", followups.c.source == "checkin"))
    .order_by(followups.c.id.desc()).limit(1),
    ("cid",),
)


class Followups:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.cfg = hub.config.followups

    # --- scheduling ---------------------------------------------------------------------------------------------------

    async def schedule(
        self, ticket_id: int, *, mode: str, source: str, agent: Agent | None = None, after: timedelta | None = None,
        at: datetime | None = None, text: str | None = None, tz: str | None = None, request_key: str | None = None,
    ) -> dict[str, Any]:
        if mode not in MODES:
            raise Invalid(f"mode must be one of {', '.join(MODES)}", field="mode")
        if mode == "message" and source != "checkin" and not (text or "").strip():
            raise Invalid("a follow-up message needs its text", field="text")
        if tz is not None and valid_zone(tz) is None:
            raise Invalid(f"unknown time zone {tz!r} (expected an IANA name such as Asia/Bangkok)", field="tz")
        now = self.hub.clock.now()
        wanted = at if at is not None else now + (after or timedelta(0))
        if wanted < now - timedelta(minutes=1):
            raise Invalid("the follow-up time is in the past", field="at")
        async with self.hub.db.write() as conn:
            try:
                t = await ticket_store.get_ticket(conn, ticket_id)
            except ticket_store.NotFound:
                raise NotFoundError(f"ticket {ticket_id} does not exist") from None
            if request_key and (old := (await conn.execute(select(followups).where(followups.c.request_key == request_key))).first()):
                return followup_json(old)
            zone = tz or await customer_zone(conn, t.customer_id, self.hub.config.business_hours.tz)
            # A reminder is the agent's; a message reaches the customer only while the desk is open in their zone.
            due = next_open(wanted, zone, self.hub.config.business_hours) if mode == "message" else wanted
            owner = agent.id if agent is not None else t.assignee_id
            fid = (
                await conn.execute(
                    insert(followups).returning(followups.c.id),
                    dict(ticket_id=t.id, customer_id=t.customer_id, agent_id=owner, created_by=agent.id if agent else None,
                         source=source, mode=mode, text=(text or "").strip()[: self.hub.config.server.max_text] or None,
                         language=lang_of(t.language), tz=zone, due_at=due, state="scheduled",
                         request_key=request_key, created_at=now, updated_at=now),
                )
            ).scalar_one()
            who = f" by {agent.name}" if agent else ""
            await ticket_store.add_trace(conn, t.id, now, "follow-up", f"{mode} #{fid} ({source}) for {due.isoformat()} ({zone}){who}")
            row = (await conn.execute(select(followups).where(followups.c.id == fid))).one()
        data = followup_json(row)
        await self.hub.bus.publish(AGENTS, {"type": "followup.created", "followup": data})
        return data

    async def checkin_after_fix(self, t: Any) -> dict[str, Any] | None:
        """The check-in of a complaint resolved with a fix (once per resolution)."""
        if self.cfg.checkin_after <= timedelta(0) or t.kind != "complaint" or t.resolved_at is None:
            return None
        return await self.schedule(
            t.id, mode="message", source="checkin", after=self.cfg.checkin_after,
            request_key=f"checkin:{t.id}:{int(t.resolved_at.timestamp())}",
        )

    async def cancel(self, followup_id: int, agent: Agent) -> dict[str, Any]:
        now = self.hub.clock.now()
        async with self.hub.db.write() as conn:
            row = (await conn.execute(select(followups).where(followups.c.id == followup_id))).first()
            if row is None:
                raise NotFoundError(f"follow-up {followup_id} does not exist")
            res = await conn.execute(
                update(followups).where(and_(followups.c.id == followup_id, followups.c.state.in_(("scheduled", "due"))))
                .values(state="cancelled", updated_at=now, done_at=now)
            )
            if res.rowcount != 1:
                raise ConflictError(f"follow-up {followup_id} is already {row.state}")
            await ticket_store.add_trace(conn, row.ticket_id, now, "follow-up", f"#{followup_id} cancelled by {agent.name}")
            row = (await conn.execute(select(followups).where(followups.c.id == followup_id))).one()
        return followup_json(row)

    async def done(self, followup_id: int, agent: Agent) -> dict[str, Any]:
        """An agent marks a reminder as dealt with."""
        now = self.hub.clock.now()
        async with self.hub.db.write() as conn:
            res = await conn.execute(
                update(followups).where(and_(followups.c.id == followup_id, followups.c.state.in_(("scheduled", "due")),
                                             followups.c.mode == "reminder"))
                .values(state="done", updated_at=now, done_at=now)
            )
            row = (await conn.execute(select(followups).where(followups.c.id == followup_id))).first()
            if row is None:
                raise NotFoundError(f"follow-up {followup_id} does not exist")
            if res.rowcount != 1:
                raise ConflictError(f"follow-up {followup_id} is {row.state} ({row.mode})")
            await ticket_store.add_trace(conn, row.ticket_id, now, "follow-up", f"#{followup_id} done ({agent.name})")
        return followup_json(row)

    # --- firing -------------------------------------------------------------------------------------------------------

    async def tick(self, limit: int = 100) -> int:
        now = self.hub.clock.now()
        async with self.hub.db.read() as conn:
            ids = (
                await conn.execute(
                    select(followups.c.id).where(and_(followups.c.state == "scheduled", followups.c.due_at <= now))
                    .order_by(followups.c.due_at).limit(limit)
                )
            ).scalars().all()
        for fid in ids:
            try:
                await self.fire(fid)
            except Exception:
                log.exception("follow-up %s failed", fid)
        return len(ids)

    async def fire(self, followup_id: int) -> None:
        signer = await self.hub.surveys.signer()  # before the transaction: a first call writes the key
        now = self.hub.clock.now()
        sent: Sent | None = None
        event: dict[str, Any] | None = None
        async with self.hub.db.write() as conn:
            f = (await conn.execute(select(followups).where(followups.c.id == followup_id))).first()
            if f is None or f.state != "scheduled" or f.due_at > now:
                return
            values: dict[str, Any] = {"updated_at": now}
            if f.mode == "reminder":
                values["state"] = "due"
                await ticket_store.add_trace(conn, f.ticket_id, now, "follow-up", f"reminder #{f.id} due")
            else:
                t = await ticket_store.get_ticket(conn, f.ticket_id)
                target = await self.hub.surveys.planner._target(conn, t.identity_id, t.channel, t.customer_id)
                if await optout.unsubscribed(conn, t.customer_id):
                    target = optout.REASON  # on every channel: the opt-out is the customer's, not the address's
                if isinstance(target, str):
                    values.update(state="not_sent", reason=target, done_at=now)
                    await ticket_store.add_trace(conn, t.id, now, "follow-up", f"#{f.id} not sent: {target}")
                elif await self._over_limit(conn, target.channel, now):
                    # Spread out, never a blast: the next hour, still inside the customer's open hours.
                    values["due_at"] = next_open(now + RATE_WINDOW / 4, f.tz, self.hub.config.business_hours)
                else:
                    sent = await self._message(conn, f, t, target, now, optout.meta(signer, self.hub.config.server.public_url, t.customer_id))
                    values.update(state="sent", message_id=sent.message.id)
                    await ticket_store.add_trace(conn, t.id, now, "follow-up", f"#{f.id} sent via {target.channel}")
            res = await conn.execute(update(followups).where(and_(followups.c.id == f.id, followups.c.state == "scheduled",
                                                                  followups.c.due_at == f.due_at)).values(**values))
            if res.rowcount != 1:
                raise RuntimeError(f"follow-up {f.id} changed meanwhile")
            row = (await conn.execute(select(followups).where(followups.c.id == f.id))).one()
            if row.state in ("due", "sent", "not_sent"):
                event = {"type": "followup.due" if f.mode == "reminder" else f"followup.{row.state}",
                         "followup": followup_json(row), "agent_id": row.agent_id}
        if sent is not None:
            self.hub.outbox.kick(sent.outbox_id, claimed=True)
            await self.hub.events.message(sent.message)
        if event is not None:
            await self.hub.bus.publish(AGENTS, event)

    async def _over_limit(self, conn: AsyncConnection, channel: str, now: datetime) -> bool:
        cap = self.cfg.per_channel_per_hour.get(channel)
        if cap is None:
            return False
        n = (
            await conn.execute(
                select(func.count()).select_from(followups.join(messages, messages.c.id == followups.c.message_id))
                .where(and_(messages.c.channel == channel, messages.c.created_at > now - RATE_WINDOW))
            )
        ).scalar_one()
        return n >= cap

    async def _message(self, conn: AsyncConnection, f: Any, t: Any, ident: Any, now: datetime, unsubscribe: dict[str, Any]) -> Sent:
        lang = f.language
        lock = self.hub.outbox.lock
        meta = {"followup_id": f.id, **unsubscribe}
        if f.source == "checkin":
            subject = (t.subject or f"#{t.id}")[:120]
            if ident.channel in CHAT:
                buttons = (Button(say("yes", lang), f"checkin:{f.id}:yes"), Button(say("no", lang), f"checkin:{f.id}:no"))
                return await post(conn, t.id, ident.channel, ident.id, say("checkin", lang, subject=subject), now, lock,
                                  buttons=buttons, meta=meta)
            return await post(conn, t.id, ident.channel, ident.id, say("checkin_email", lang, subject=subject), now, lock,
                              meta=meta)
        return await post(conn, t.id, ident.channel, ident.id, f.text or "", now, lock, meta=meta)

    # --- check-in answers (hub.intake interceptor) --------------------------------------------------------------------

    async def intercept(self, conn: AsyncConnection, inbound: Inbound, cid: int, iid: int, now: datetime) -> Claimed | None:
        if inbound.flags & NO_ANSWER:
            return None
        payload = inbound.raw.get("payload") if "button" in inbound.flags and isinstance(inbound.raw, dict) else None
        answer: bool | None
        if isinstance(payload, str) and payload.startswith("checkin:"):
            parts = payload.split(":")
            if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in ("yes", "no"):
                return None
            f = (await conn.execute(select(followups).where(and_(followups.c.id == int(parts[1]), followups.c.customer_id == cid)))).first()
            if f is None:
                return None
            if f.state != "sent":
                return Claimed(f.ticket_id, meta={"followup_id": f.id, "late": True})
            answer = parts[2] == "yes"
        else:
            f = await self._awaiting(conn, inbound.channel, cid, iid)
            if f is None:
                return None
            first = next((ln for ln in inbound.text.splitlines() if ln.strip() and not ln.startswith(">")), "")
            answer = yes_no(first)
            if answer is None and "?" in first:
                return None  # a new question: the intake opens or continues a ticket as usual
            answer = bool(answer)
        return await self._answer(conn, f, answer, inbound, now)

    async def _awaiting(self, conn: AsyncConnection, channel: str, cid: int, iid: int) -> Any:
        f = (await _LAST_CHECKIN.run(conn, {"cid": cid})).first()
        if f is None or f.message_id is None:
            return None
        asked = (await conn.execute(select(messages.c.meta, messages.c.channel).where(messages.c.id == f.message_id))).first()
        if asked is None or asked.channel != channel or (asked.meta or {}).get("identity_id") != iid:
            return None
        later = (
            await conn.execute(
                select(messages.c.meta).where(and_(messages.c.ticket_id == f.ticket_id, messages.c.id > f.message_id,
                                                   messages.c.direction == "in")).order_by(messages.c.id).limit(20)
            )
        ).all()
        # The customer has said something else since: no longer an answer.  An out-of-office or a bounce that the
        # check-in mail drew is not the customer speaking, and must not keep their real answer from counting.
        spoke = [m for m in later if not NO_ANSWER.intersection((m.meta or {}).get("flags", ()))]
        return None if spoke or len(later) == 20 else f

    async def _answer(self, conn: AsyncConnection, f: Any, fine: bool, inbound: Inbound, now: datetime) -> Claimed:
        t = await ticket_store.get_ticket(conn, f.ticket_id)
        asked = (await conn.execute(select(messages.c.meta, messages.c.channel).where(messages.c.id == f.message_id))).one()
        iid, via = int((asked.meta or {})["identity_id"]), asked.channel
        outcome = "confirmed" if fine else "reopened"
        await conn.execute(update(followups).where(followups.c.id == f.id)
                           .values(state="answered", outcome=outcome, updated_at=now, done_at=now))
        moved = False
        if fine:
            await ticket_store.add_trace(conn, t.id, now, "follow-up", f"check-in #{f.id}: the customer confirmed the fix")
        elif t.status.value in ("resolved", "closed"):
            values: dict[str, Any] = {"status": Status.ASSIGNED.value if t.assignee_id else Status.QUEUED.value,
                                      "resolved_at": None, "closed_at": None}
            for hook in self.hub.intake.on_ticket_change:
                await hook(conn, t, values, now)
            moved = await ticket_store.set_status(conn, t.id, [t.status.value], now, **values)
            if moved:
                facts.note("updated", t.id)
            await ticket_store.add_trace(conn, t.id, now, "reopened", f"check-in #{f.id}: the customer says it is not fixed")
        sent = await post(conn, t.id, via, iid, say("checkin_ok" if fine else "checkin_reopened", f.language), now,
                          self.hub.outbox.lock, meta={"followup_id": f.id})
        row = (await conn.execute(select(followups).where(followups.c.id == f.id))).one()
        data = followup_json(row)

        async def after() -> None:
            self.hub.outbox.kick(sent.outbox_id, claimed=True)
            async with self.hub.db.read() as c:
                cur = await ticket_store.get_ticket(c, t.id)
            await self.hub.events.message(sent.message, cur)
            if moved:
                await self.hub.events.ticket("ticket.updated", cur)
            await self.hub.bus.publish(AGENTS, {"type": "followup.answered", "followup": data, "agent_id": data["agent_id"]})

        return Claimed(t.id, after=after, meta={"followup_id": f.id})

