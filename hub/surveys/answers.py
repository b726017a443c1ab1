"""Storing survey answers, and recognising them among a customer's chat messages.

A chat answer is a pressed button (`survey:<id>:s:<score>` / `survey:<id>:n:<nps>`) or, while the survey is the
last thing said in that conversation, a typed number or a comment.  It is stored on the surveyed ticket without
reopening it (hub.intake `Claimed`), in the transaction that stores the message, together with the next question
or the thanks.  Anything that reads as a new question is left to the intake: it opens or continues a ticket as usual.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import NO_ANSWER, Direction, Inbound
from hub.inbound_store import Claimed
from hub.store import tickets as ticket_store
from hub.store.schema import messages, surveys, tickets
from hub.surveys.plan import CHAT, Sent, nps_buttons, post
from hub.surveys.records import survey_json
from hub.surveys.texts import looks_like_question, number, say

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.surveys")
OPEN_TO_ANSWER = ("sent", "answered")
EXCHANGE = 12  # more customer messages than a survey's answers: the conversation has moved on


@dataclass(slots=True)
class Answer:
    score: int | None = None
    nps: int | None = None
    comment: str | None = None

    @property
    def empty(self) -> bool:
        return self.score is None and self.nps is None and self.comment is None


@dataclass(slots=True)
class Stored:
    survey: dict[str, Any]
    sent: list[Sent] = field(default_factory=list)


class Answers:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.cfg = hub.config.surveys
        # async fn(conn, survey_json) inside the transaction that stores an answer (webhook deliveries).
        self.on_answered: list[Any] = []

    def open_to_answer(self, s: Any, now: datetime) -> bool:
        return s.state in OPEN_TO_ANSWER and s.expires_at is not None and now < s.expires_at

    async def record(self, conn: AsyncConnection, s: Any, answer: Answer, now: datetime) -> Stored:
        """Store an answer (a first score or a change) in the caller's transaction."""
        values: dict[str, Any] = {"answers": surveys.c.answers + 1, "updated_at": now}
        if answer.score is not None:
            values.update(score=answer.score, state="answered")
            if s.answered_at is None:
                values["answered_at"] = now
        if answer.nps is not None:
            values["nps"] = answer.nps
        new_comment = answer.comment is not None and answer.comment.strip() != (s.comment or "")
        if answer.comment is not None:
            values["comment"] = answer.comment.strip() or None
            # Committed with the comment, cleared with the classifier's verdict: a comment whose review a stopped
            # process never finished is found again by the sweep (Complaints.reconsider).
            if new_comment:
                values["comment_pending"] = True if values["comment"] else None
        await conn.execute(update(surveys).where(surveys.c.id == s.id).values(**values))
        row = (await conn.execute(select(surveys).where(surveys.c.id == s.id))).one()
        what = [f"score {row.score}/5" if row.score is not None else "no score"]
        if row.nps is not None:
            what.append(f"NPS {row.nps}/10")
        if new_comment and row.comment:
            what.append("with a comment")
        await ticket_store.add_trace(conn, s.ticket_id, now, "survey", f"answered: {', '.join(what)}")
        data = survey_json(row)
        for hook in self.on_answered:
            await hook(conn, data)
        return Stored(data)

    async def after(self, stored: Stored) -> None:
        """After the commit: deliver the replies, tell consoles and integrations, open a complaint if it was bad."""
        for sent in stored.sent:
            self.hub.outbox.kick(sent.outbox_id, claimed=True)
        async with self.hub.db.read() as conn:
            t = await ticket_store.get_ticket(conn, stored.survey["ticket_id"])
        for sent in stored.sent:
            await self.hub.events.message(sent.message, t)
        await self.hub.events.survey_answered(stored.survey, t)
        # The classifier may take a moment: the channel's acknowledgement does not wait for it.
        self.hub.surveys.spawn(self.hub.surveys.complaints.consider(stored.survey["id"]))

    # --- chat answers (hub.intake interceptor) ----------------------------------------------------------------------

    async def intercept(self, conn: AsyncConnection, inbound: Inbound, cid: int, iid: int, now: datetime) -> Claimed | None:
        if inbound.channel not in CHAT or inbound.flags & NO_ANSWER:
            return None
        payload = inbound.raw.get("payload") if "button" in inbound.flags and isinstance(inbound.raw, dict) else None
        if isinstance(payload, str) and payload.startswith("survey:"):
            return await self._button(conn, payload, cid, now)
        if not inbound.text.strip():
            return None
        s = await self._awaiting(conn, inbound.channel, cid, iid, now)
        if s is None:
            return None
        answer = self._read_text(s, inbound.text, now)
        if answer is None:
            return None
        return await self._claim(conn, s, answer, now)

    async def _button(self, conn: AsyncConnection, payload: str, cid: int, now: datetime) -> Claimed | None:
        parts = payload.split(":")
        if len(parts) != 4 or not parts[1].isdigit() or parts[2] not in ("s", "n") or not parts[3].isdigit():
            return None
        s = (await conn.execute(select(surveys).where(and_(surveys.c.id == int(parts[1]), surveys.c.customer_id == cid)))).first()
        if s is None:
            return None  # not this customer's survey: an ordinary message
        value = int(parts[3])
        if not self.open_to_answer(s, now) or (parts[2] == "s" and not 1 <= value <= 5) or (parts[2] == "n" and not 0 <= value <= 10):
            # A late or stale tap on an old survey: kept on its ticket, which it must not reopen.
            await ticket_store.add_trace(conn, s.ticket_id, now, "survey", "an answer came after the survey closed; not counted")
            return Claimed(s.ticket_id, meta={"survey_id": s.id, "late": True})
        answer = Answer(score=value) if parts[2] == "s" else Answer(nps=value)
        return await self._claim(conn, s, answer, now)

    async def _awaiting(self, conn: AsyncConnection, channel: str, cid: int, iid: int, now: datetime) -> Any:
        """The survey this conversation is waiting on: the customer's latest open survey on this channel, sent to
        this very identity, with nothing said in the conversation since but the survey's own messages."""
        s = (
            await conn.execute(
                select(surveys).where(and_(surveys.c.customer_id == cid, surveys.c.via == channel,
                                           surveys.c.state.in_(OPEN_TO_ANSWER), surveys.c.expires_at > now))
                .order_by(surveys.c.id.desc()).limit(1)
            )
        ).first()
        if s is None or s.message_id is None:
            return None
        asked = (await conn.execute(select(messages.c.meta).where(messages.c.id == s.message_id))).first()
        if asked is None or (asked.meta or {}).get("identity_id") != iid:
            return None
        # Messages since the question, the survey's own exchange aside (its prompts and the answers it claimed).
        later = (
            await conn.execute(
                select(messages.c.meta).join(tickets, tickets.c.id == messages.c.ticket_id)
                .where(and_(tickets.c.customer_id == cid, messages.c.channel == channel, messages.c.id > s.message_id,
                            or_(messages.c.direction == Direction.IN.value, messages.c.author.in_(("agent", "bot")))))
                .order_by(messages.c.id).limit(EXCHANGE)
            )
        ).all()
        if len(later) >= EXCHANGE or any((m.meta or {}).get("survey_id") != s.id for m in later):
            return None
        return s

    def _read_text(self, s: Any, text: str, now: datetime) -> Answer | None:
        if s.score is None:
            n = number(text, 1, 5)
            return Answer(score=n) if n is not None else None
        if self.cfg.nps and s.nps is None:
            n = number(text, 0, 10)
            if n is not None:
                return Answer(nps=n)
        if s.comment is None and now - s.updated_at <= self.cfg.comment_window:
            n = number(text, 1, 5)
            if n is not None:
                return Answer(score=n)  # a changed score
            if looks_like_question(text):
                return None
            return Answer(comment=text[: self.hub.config.server.max_text])
        return None

    async def _claim(self, conn: AsyncConnection, s: Any, answer: Answer, now: datetime) -> Claimed:
        stored = await self.record(conn, s, answer, now)
        row = stored.survey
        lang, via = row["language"], row["via"]
        asked = (await conn.execute(select(messages.c.meta).where(messages.c.id == s.message_id))).one()
        iid = int((asked.meta or {})["identity_id"])
        lock = self.hub.outbox.lock
        replies: list[tuple[str, tuple[Any, ...]]] = []
        low = row["score"] is not None and row["score"] <= self.cfg.low_score
        first = answer.score is not None and s.score is None
        if first and low:
            replies.append((say("sorry", lang), ()))
        if answer.score is not None and self.cfg.nps and row["nps"] is None:
            replies.append((say("ask_nps", lang), nps_buttons(s.id, lang)))
        elif (first or answer.nps is not None) and row["comment"] is None:
            replies.append((say("ask_comment", lang), ()))
        else:
            replies.append((say("thanks", lang), ()))
        # One message: two sent together could reach the customer in either order.
        text = "\n\n".join(t for t, _ in replies)
        stored.sent.append(await post(conn, s.ticket_id, via, iid, text, now, lock, buttons=replies[-1][1],
                                      meta={"survey_id": s.id}))

        async def after() -> None:
            await self.after(stored)

        return Claimed(s.ticket_id, after=after, meta={"survey_id": s.id})
