"""Which resolutions get a survey, and sending it through the outbox.

Planning sweeps tickets resolved lately that have no survey row for that resolution yet, whatever resolved them
(an agent, a callback reached, the bot), and inserts one row each: `scheduled` at the resolution plus the
configured delay, or `not_sent` with the reason (on the ticket's trace too).  (ticket_id, resolved_at) is unique,
so every process may sweep and each resolution is asked about once.

Sending turns a due `scheduled` row into `sent` in the same transaction that stores the survey message and its
outbox row: a crash before the commit leaves it scheduled, after it the outbox delivers the message exactly once.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import NO_ANSWER, Author, Button, Direction, Message, Status
from hub.store import tickets as ticket_store
from hub.store.schema import callbacks, customers, identities, messages, surveys, tickets
from hub.surveys.links import Signer
from hub.surveys.texts import digits, lang_of, say
from hub.surveys.zones import customer_zone, local_text

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.surveys")

DONE = (Status.RESOLVED.value, Status.CLOSED.value)
# The channels a survey can be answered on, in the order tried for a ticket whose own channel cannot carry one
# (a call booked on the phone form).
ANSWERABLE = ("telegram", "email", "webchat")
CHAT = ("webchat", "telegram")


@dataclass(frozen=True, slots=True)
class Sent:
    message: Message
    outbox_id: int
    ticket_id: int


def score_buttons(survey_id: int, lang: str) -> tuple[Button, ...]:
    return tuple(Button(digits(n, lang), f"survey:{survey_id}:s:{n}") for n in range(1, 6))


def nps_buttons(survey_id: int, lang: str) -> tuple[Button, ...]:
    return tuple(Button(digits(n, lang), f"survey:{survey_id}:n:{n}") for n in range(0, 11))


async def post(conn: AsyncConnection, ticket_id: int, channel: str, identity_id: int, text: str, now: datetime,
               lock: timedelta, *, buttons: tuple[Button, ...] = (), meta: dict[str, Any] | None = None) -> Sent:
    """A system message to the customer through the outbox, addressed to `identity_id` (which may be on another
    channel than the ticket's: a survey of a phone callback goes to the customer's Telegram)."""
    m = {"identity_id": identity_id, **(meta or {})}
    if buttons:
        m["buttons"] = [asdict(b) for b in buttons]
    msg = await ticket_store.insert_message(
        conn, ticket_id=ticket_id, direction=Direction.OUT, author=Author.SYSTEM, text=text, channel=channel, at=now,
        automatic=True, delivery="pending", meta=m,
    )
    oid = await ticket_store.enqueue_outbound(conn, msg.id, channel, now, claimed_until=now + lock)
    return Sent(msg, oid, ticket_id)


class Planner:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.cfg = hub.config.surveys

    # --- planning ---------------------------------------------------------------------------------------------------

    async def plan(self, limit: int = 200) -> int:
        now = self.hub.clock.now()
        since = now - self.cfg.delay - self.cfg.expires_after
        asked = exists().where(and_(surveys.c.ticket_id == tickets.c.id, surveys.c.resolved_at == tickets.c.resolved_at))
        async with self.hub.db.read() as conn:
            rows = (
                await conn.execute(
                    select(tickets.c.id, tickets.c.customer_id, tickets.c.resolved_at, tickets.c.channel,
                           tickets.c.department, tickets.c.assignee_id, tickets.c.language,
                           customers.c.language.label("customer_language"))
                    .join(customers, customers.c.id == tickets.c.customer_id)
                    # (status, updated_at) is indexed: a resolution moves updated_at.
                    .where(and_(tickets.c.status.in_(DONE), tickets.c.updated_at >= since,
                                tickets.c.resolved_at.is_not(None), tickets.c.resolved_at >= since, ~asked))
                    .order_by(tickets.c.updated_at)
                    .limit(limit)
                )
            ).all()
        for r in rows:
            if await self._plan_one(r, now):
                await self._rules(r)
        return len(rows)

    async def _rules(self, r: Any) -> None:
        """followups.rules for a resolution seen for the first time (after its survey row is committed)."""
        rules = self.hub.config.followups.rules
        if not rules:
            return
        t = await self._ticket_of(r.id)
        for i, rule in enumerate(rules):
            if any(want is not None and want != got for want, got in
                   ((rule.kind, t.kind), (rule.department, t.department), (rule.channel, t.channel))):
                continue
            text = rule.text.get(lang_of(t.language)) or rule.text.get("en")
            try:
                await self.hub.surveys.followups.schedule(
                    t.id, mode=rule.mode, source="rule", at=max(r.resolved_at + rule.after, self.hub.clock.now()), text=text,
                    request_key=f"rule:{i}:{t.id}:{int(r.resolved_at.timestamp())}",
                )
            except Exception:  # a rule must not stop the sweep; the trace of the ticket stays as it was
                log.exception("follow-up rule %s on ticket %s failed", i, t.id)

    async def _ticket_of(self, ticket_id: int) -> Any:
        async with self.hub.db.read() as conn:
            return await ticket_store.get_ticket(conn, ticket_id)

    async def _plan_one(self, r: Any, now: datetime) -> bool:
        """The row of one resolution; True when this call created it (the resolution is new)."""
        async with self.hub.db.write() as conn:
            why = "surveys are off (surveys.enabled)" if not self.cfg.enabled else await self._ineligible(conn, r)
            ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(surveys)
            res = await conn.execute(
                ins.values(
                    ticket_id=r.id, customer_id=r.customer_id, resolved_at=r.resolved_at, channel=r.channel,
                    department=r.department, agent_id=r.assignee_id, language=lang_of(r.language or r.customer_language),
                    state="not_sent" if why else "scheduled", reason=why, answers=0,
                    due_at=r.resolved_at + self.cfg.delay, created_at=now, updated_at=now,
                ).on_conflict_do_nothing(index_elements=["ticket_id", "resolved_at"])
            )
            if res.rowcount == 1 and why and self.cfg.enabled:
                await ticket_store.add_trace(conn, r.id, now, "survey", f"none sent: {why}")
        return res.rowcount == 1

    async def _ineligible(self, conn: AsyncConnection, r: Any) -> str | None:
        dept = self.hub.config.department(r.department or "")
        if dept is not None and not dept.surveys:
            return f"surveys are off for department {dept.name}"
        first = (
            await conn.execute(
                select(messages.c.meta).where(and_(messages.c.ticket_id == r.id, messages.c.direction == Direction.IN.value))
                .order_by(messages.c.id).limit(1)
            )
        ).first()
        flags = set((first.meta or {}).get("flags", ())) if first is not None else set()
        if flags & NO_ANSWER and not self.cfg.auto_replies:
            return f"the ticket was opened by {'/'.join(sorted(flags & NO_ANSWER))}"
        calls = (await conn.execute(select(callbacks.c.outcome).where(callbacks.c.ticket_id == r.id))).scalars().all()
        if calls and "reached" not in calls:
            return "the callback never reached the customer"
        if not calls and r.assignee_id is None and not self.cfg.bot_only:
            by_agent = (
                await conn.execute(
                    select(messages.c.id).where(and_(messages.c.ticket_id == r.id, messages.c.author == Author.AGENT.value)).limit(1)
                )
            ).first()
            if by_agent is None:
                return "only the bot answered (surveys.bot_only is off)"
        return None

    async def expire(self) -> int:
        """Surveys sent and never answered whose window closed (an answered one keeps its state)."""
        now = self.hub.clock.now()
        over = and_(surveys.c.state == "sent", surveys.c.expires_at <= now)
        async with self.hub.db.read() as conn:  # the write lock only when there is something to expire
            if (await conn.execute(select(surveys.c.id).where(over).limit(1))).first() is None:
                return 0
        async with self.hub.db.write() as conn:
            res = await conn.execute(update(surveys).where(over).values(state="expired", updated_at=now))
        return res.rowcount or 0

    # --- sending ----------------------------------------------------------------------------------------------------

    async def send_due(self, limit: int = 100) -> int:
        now = self.hub.clock.now()
        async with self.hub.db.read() as conn:
            ids = (
                await conn.execute(
                    select(surveys.c.id).where(and_(surveys.c.state == "scheduled", surveys.c.due_at <= now))
                    .order_by(surveys.c.due_at).limit(limit)
                )
            ).scalars().all()
        for sid in ids:
            try:
                await self.send(sid)
            except Exception:  # one bad row must not hold up the others; it is tried again next sweep
                log.exception("survey %s: send failed", sid)
        return len(ids)

    async def send(self, survey_id: int) -> Sent | None:
        signer = await self.hub.surveys.signer()  # before the transaction: a first call writes the key
        now = self.hub.clock.now()
        sent: Sent | None = None
        async with self.hub.db.write() as conn:
            s = (await conn.execute(select(surveys).where(surveys.c.id == survey_id))).first()
            if s is None or s.state != "scheduled":
                return None
            t = await ticket_store.get_ticket(conn, s.ticket_id)
            state, why, values = "not_sent", None, {}
            if t.status.value not in DONE or t.resolved_at != s.resolved_at:
                state, why = "cancelled", "the ticket was reopened before the survey went out"
            elif now > s.due_at + self.cfg.expires_after:
                why = "it fell due while the hub was down for longer than surveys.expires_after"
            else:
                target = await self._target(conn, t.identity_id, t.channel, s.customer_id)
                if isinstance(target, str):
                    why = target
                else:
                    sent, values = await self._compose(conn, s, t, target, now, signer)
                    state = "sent"
            res = await conn.execute(
                update(surveys).where(and_(surveys.c.id == s.id, surveys.c.state == "scheduled"))
                .values(state=state, reason=why, updated_at=now, **values)
            )
            if res.rowcount != 1:  # another process got there first: roll back our message with this transaction
                raise RuntimeError(f"survey {s.id} changed meanwhile")
            if state == "sent":
                await ticket_store.add_trace(conn, t.id, now, "survey", f"sent via {values['via']}")
            else:
                await ticket_store.add_trace(conn, t.id, now, "survey", f"{'cancelled' if state == 'cancelled' else 'none sent'}: {why}")
        if sent is not None:
            self.hub.outbox.kick(sent.outbox_id, claimed=True)
            await self.hub.events.message(sent.message, t)
            log.info("survey %s sent on ticket %s via %s", s.id, t.id, sent.message.channel)
        return sent

    async def _target(self, conn: AsyncConnection, identity_id: int | None, channel: str, customer_id: int) -> Any:
        """The identity the customer can answer on, or why there is none."""
        own = None
        if identity_id is not None:
            own = (await conn.execute(select(identities).where(identities.c.id == identity_id))).first()
        if own is not None and own.channel in ANSWERABLE:
            return self._usable(own) or own
        # A phone callback: the customer's own proven chat or mail, most recently added first.
        rows = (
            await conn.execute(
                select(identities).where(and_(identities.c.customer_id == customer_id, identities.c.verified,
                                              identities.c.channel.in_(ANSWERABLE)))
                .order_by(identities.c.id.desc())
            )
        ).all()
        reasons = []
        for ch in ANSWERABLE:
            for row in rows:
                if row.channel == ch:
                    problem = self._usable(row)
                    if problem is None:
                        return row
                    reasons.append(problem)
        if reasons:
            return reasons[0]
        return f"the customer has no channel to answer on besides {channel}"

    def _usable(self, ident: Any) -> str | None:
        if ident.channel not in self.hub.channels:
            return f"channel {ident.channel} is not enabled"
        if ident.unreachable:
            return f"the customer cannot be reached on {ident.channel}: {ident.unreachable}"
        if ident.channel not in CHAT and not self.hub.config.server.public_url:
            return "server.public_url is not set, so there is no link the customer could open"
        return None

    async def _compose(self, conn: AsyncConnection, s: Any, t: Any, ident: Any, now: datetime, signer: Signer) -> tuple[Sent, dict[str, Any]]:
        lang, subject = s.language, (t.subject or f"#{t.id}")[:120]
        expires = now + self.cfg.expires_after
        values: dict[str, Any] = {"via": ident.channel, "sent_at": now, "expires_at": expires}
        lock = self.hub.outbox.lock
        if ident.channel in CHAT:
            sent = await post(conn, t.id, ident.channel, ident.id, say("ask_chat", lang, subject=subject), now, lock,
                              buttons=score_buttons(s.id, lang), meta={"survey_id": s.id})
        else:
            token = signer.issue(s.id, expires)
            url = f"{self.hub.config.server.public_url.rstrip('/')}/survey/{token.value}"
            until = local_text(expires, await customer_zone(conn, s.customer_id, self.hub.config.business_hours.tz), lang)
            sent = await post(conn, t.id, ident.channel, ident.id, say("ask_email", lang, subject=subject, url=url, until=until),
                              now, lock, meta={"survey_id": s.id})
            values["token_hash"] = token.hash
        values["message_id"] = sent.message.id
        return sent, values
