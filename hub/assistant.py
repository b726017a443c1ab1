"""The FAQ bot inside the running hub: the `Responder` that applies bots.policy to each stored customer message.

For every committed customer message (hub.intake spawns `on_customer_message` after the commit) it loads the
ticket and its customer, asks `bots.policy.decide` what to do and applies the decision through `hub.actions`:
an answer is posted only while the ticket is still `bot` (the status check shares the insert's transaction), a
handoff is one conditional UPDATE `bot -> queued`, so no bot message can follow a handoff even when several
messages of one ticket are handled at once or by several processes.  Within one process the messages of a ticket
are also handled one at a time, in arrival order, so the bot's memory (misses, the answer awaiting feedback) is
read and written in order.

While a ticket waits in the queue, a customer who writes again gets at most one status notice per
`bot.notice_interval`: queue position, expected wait, or outside business hours when agents are back and the
offer of a callback.  hub.kb_reload's `KnowledgeBaseReloader` is the hub worker that picks up edits of faq.yaml.

Imports hub's own modules, bots (the policy, matcher, knowledge base) and routing (complaint detection per
message, business calendars) when it is installed.
"""
from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update

from bots.config import BotConfig
from bots.kb import KnowledgeBaseHolder
from bots.matcher import Matcher
from nlp.cache import Stopped
from nlp.langid import language_of as detect_language
from bots.policy import NEVER_ANSWER_FLAGS, Action, Decision, QueueState, Turn, decide, queue_notice
from bots import texts
from hub.callbacks.offer import CallbackOffer
from hub.domain import Accepted, Author, Inbound, Status
from hub import labels
from hub.escalation import Review
from hub.kb_reload import KnowledgeBaseReloader
from hub.links import BASE, absolute
from hub.store.schema import customers, tickets

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.assistant")

__all__ = ["Assistant", "bot_channels"]

_WAIT_SAMPLES = 50  # recent first responses that estimate the expected wait
_WAIT_WINDOW = timedelta(days=7)


def bot_channels(cfg: BotConfig, hub: Hub) -> frozenset[str]:
    """Channels whose new tickets start with the bot.  A channel that is not a conversation (a callback request,
    a form) gets the bot only as an acknowledgement channel, since there is no one to answer "did this help?"."""
    out = set()
    for name, ch in hub.channels.items():
        if cfg.enabled_for(name) and (ch.capabilities.conversational or name in cfg.ack_only_channels):
            out.add(name)
    return frozenset(out)


class Assistant:
    """The hub's `Responder` (hub.ports): the FAQ bot applied to every stored customer message."""

    def __init__(self, hub: Hub, cfg: BotConfig) -> None:
        self.hub, self.cfg = hub, cfg
        path = cfg.knowledge_base
        if not os.path.isabs(path):
            path = os.path.join(hub.config.base_dir, path)
        self.holder: KnowledgeBaseHolder[Matcher] = KnowledgeBaseHolder(path, build=self._build_matcher)
        self.reloader = KnowledgeBaseReloader(self.holder, cfg.reload_interval)
        self.channels = bot_channels(cfg, hub)
        self.offer = CallbackOffer(hub)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._turn = asyncio.Lock()  # bots waiting for the encoder's CPU share (_encoder_turn)

    def _build_matcher(self, kb: Any) -> Matcher:
        matcher = Matcher(kb, threshold=self.cfg.threshold)
        reloader = getattr(self, "reloader", None)
        if reloader is not None and reloader.semantic_ready.is_set():
            # A reload runs in a worker thread: swap in a complete index.  A new version's first build embeds every
            # new example (a minute for a large knowledge base): stopping the hub stops it between chunks, and
            # the version in use stays rather than one without its meaning-based index.
            if not matcher.ensure_semantic(reloader.stopping) and reloader.stopping.is_set():
                raise Stopped("the hub is stopping")
        return matcher

    def reopen_to_bot(self, channel: str) -> bool:
        return self.cfg.enabled and self.cfg.reopen_to_bot and channel in self.channels

    # --- the Responder ----------------------------------------------------------------------------------------------

    async def on_customer_message(self, accepted: Accepted, inbound: Inbound, new_ticket: bool,
                                  review: Review | None = None) -> None:
        if accepted.duplicate:
            return
        tid = accepted.ticket_id
        lock = self._locks.setdefault(tid, asyncio.Lock())
        self._waiting[tid] = self._waiting.get(tid, 0) + 1
        try:
            async with lock:
                # Links in what the bot says point at the address this customer used (hub/links.py).
                base = inbound.raw.get("base") if isinstance(inbound.raw, dict) else None
                reset = BASE.set(base) if isinstance(base, str) else None
                try:
                    await self._handle(tid, inbound, new_ticket, review)
                finally:
                    if reset is not None:
                        BASE.reset(reset)
        except Exception:  # the message is stored; a failing bot must never lose it or break intake
            log.exception("bot failed on ticket %s (channel %s)", tid, inbound.channel)
        finally:
            self._waiting[tid] -= 1
            if not self._waiting[tid]:
                del self._waiting[tid], self._locks[tid]

    async def _load(self, tid: int) -> Any:
        async with self.hub.db.read() as conn:
            return (
                await conn.execute(
                    select(tickets, customers.c.tier, customers.c.account_manager_id,
                           customers.c.language.label("customer_language"))
                    .join(customers, customers.c.id == tickets.c.customer_id)
                    .where(tickets.c.id == tid)
                )
            ).first()

    async def _handle(self, tid: int, inbound: Inbound, new_ticket: bool, review: Review | None) -> None:
        row = await self._load(tid)
        if row is None:
            return
        status = Status(row.status)
        state: dict[str, Any] = dict(row.bot_state or {})
        lang = self._language(inbound, row, state)
        if await self.offer.handle(row, inbound, new_ticket, lang):
            return
        if status is Status.QUEUED:
            if row.channel in self.channels and row.channel not in self.cfg.ack_only_channels \
                    and not inbound.flags & NEVER_ANSWER_FLAGS:
                await self._maybe_notice(row, lang)
            return
        if status is not Status.BOT:
            return
        channel = self.hub.channels.get(row.channel)
        payload = inbound.raw.get("payload") if "button" in inbound.flags and isinstance(inbound.raw, dict) else None
        turn = Turn(
            status=status,
            channel=row.channel,
            text=inbound.text,
            channel_has_buttons=bool(channel and channel.capabilities.buttons),
            lang=lang,
            flags=inbound.flags,
            button_payload=payload if isinstance(payload, str) else None,
            is_complaint=self._complaint(row, inbound, new_ticket, review, payload),
            customer_tier=row.tier,
            has_account_manager=row.account_manager_id is not None,
            bot_misses=row.bot_misses or 0,
            email_ack_sent=bool(state.get("email_ack_sent")),
            awaiting_feedback=state.get("awaiting_feedback"),
            suggested=tuple(str(x) for x in state.get("suggested") or ()),
        )
        # Until the meaning-based index is built, the word-based one would answer alone, declining most questions it
        # could answer: wait for it (bounded), so the first customers after a start get the same answers as later ones.
        await self.reloader.until_ready(self.cfg.warmup_wait)
        matcher = self.holder.index
        async with self._encoder_turn(matcher):
            # Off the event loop: matching a message by meaning runs the sentence encoder (milliseconds of CPU).
            decision = await asyncio.to_thread(decide, turn, matcher, self.cfg)
        log.debug("bot ticket %s: %s (%s)", tid, decision.action.value, decision.reason)
        if decision.action is Action.ANSWER:
            if decision.entry_id:
                state["last_question"] = inbound.text[:1000]
            await self._answer(row, decision, state)
        elif decision.action is Action.HANDOFF:
            await self._handoff(row, decision, state, matcher)

    @asynccontextmanager
    async def _encoder_turn(self, matcher: Matcher) -> AsyncIterator[None]:
        """While the sentence encoder is over its CPU share, questions take turns (at most bot.encoder_wait each, in
        the order they came) and each waits until the share has room again, so it is matched by meaning rather than
        by words alone.  The turn is held until the question is matched: woken together, the waiters would all spend
        the share at once and most would fall back to words after all."""
        budget = getattr(matcher.encoder, "budget", None)
        if budget is None or (not budget.exhausted() and not self._turn.locked()):
            yield
            return
        deadline = time.monotonic() + self.cfg.encoder_wait
        try:
            await asyncio.wait_for(self._turn.acquire(), max(deadline - time.monotonic(), 0.0))
        except asyncio.TimeoutError:
            yield  # waited long enough: the word-based index answers
            return
        try:
            while (wait := budget.room_in()) > 0 and (left := deadline - time.monotonic()) > 0:
                await asyncio.sleep(min(wait + 0.001, left))
            yield
        finally:
            self._turn.release()

    def _language(self, inbound: Inbound, row: Any, state: Mapping[str, Any]) -> str:
        """The language of this message; a message without letters ("?", "12345") or a button press keeps the
        conversation's language."""
        detected = detect_language(inbound.text) if "button" not in inbound.flags else "und"
        if detected in texts.LANGS or detected == "ar":
            return "fa" if detected == "ar" else detected
        for lang in (state.get("lang"), row.language, inbound.sender_lang, row.customer_language):
            if lang in texts.LANGS:
                return str(lang)
        return "en"

    @staticmethod
    def _complaint(row: Any, inbound: Inbound, new_ticket: bool, review: Review | None, payload: Any) -> bool:
        if payload or "button" in inbound.flags or not inbound.text.strip():
            return False
        if review is not None:  # hub.escalation classified this very message
            return review.message_complaint or (new_ticket and review.kind == "complaint")
        return new_ticket and row.kind == "complaint"

    # --- applying decisions -----------------------------------------------------------------------------------------

    async def _answer(self, row: Any, d: Decision, state: dict[str, Any]) -> None:
        state.update(lang=d.lang, awaiting_feedback=d.awaiting_feedback, suggested=list(d.suggested))
        # "Yes, it helped": the conversation may resolve by itself (hub.housekeeping); a new question undoes it.
        state["helped"] = d.reason.startswith("answer helped")
        if d.entry_id:
            state["last_entry"] = d.entry_id
        meta = {"bot": {"reason": d.reason, "entry": d.entry_id, "confidence": d.confidence}}
        msg = await self.hub.actions.post_automatic(
            row.id, Author.BOT, d.text or "", only_if=(Status.BOT,), buttons=d.buttons, meta=meta, state=state,
            values={"bot_misses": d.misses},
        )
        if msg is None:
            log.info("bot answer on ticket %s dropped: the ticket left the bot meanwhile", row.id)

    async def _handoff(self, row: Any, d: Decision, state: dict[str, Any], matcher: Matcher) -> None:
        ack_only = row.channel in self.cfg.ack_only_channels
        state.update(lang=d.lang, awaiting_feedback=None, suggested=[])
        if ack_only and d.automatic and d.text:
            state["email_ack_sent"] = True
        values: dict[str, Any] = {"bot_misses": d.misses}
        reason = d.reason
        dept = self._topic_department(row, state, matcher)
        if dept:
            values["department"] = dept
            reason = f"{reason}; to department {dept} (topic {state.get('last_entry')})"
        if d.first:  # what the knowledge base says about the complaint, while the ticket is still the bot's
            state["last_entry"] = d.entry_id
            meta = {"bot": {"reason": f"{d.reason}: answered from {d.entry_id} before the handoff",
                            "entry": d.entry_id, "confidence": d.confidence}}
            await self.hub.actions.post_automatic(row.id, Author.BOT, d.first, only_if=(Status.BOT,), meta=meta)
        if not await self.hub.actions.handoff(row.id, reason, state=state, values=values):
            return  # an agent took it meanwhile: the agent speaks now, not the bot
        if d.reason.startswith("answer did not help") and state.get("last_question"):
            async with self.hub.db.write() as conn:  # the entry was the wrong answer for these words
                await labels.record(conn, ticket_id=row.id, source="not_helpful", now=self.hub.clock.now(),
                                    text=str(state["last_question"]), language=d.lang,
                                    entry=str(state.get("last_entry") or "") or None)
        if not d.text:
            return
        text, extra = d.text, {}
        if not ack_only:  # the first status notice rides along with the handoff message
            now = self.hub.clock.now()
            notice = queue_notice(await self._queue_state(row, now, d.lang, None, dept or row.department), self.cfg)
            if notice.action is Action.NOTICE and notice.text:
                text, extra = f"{text}\n\n{self._with_link(notice.text, d.lang)}", {"last_notice_at": now}
        await self.hub.actions.post_automatic(
            row.id, Author.SYSTEM, text, only_if=(Status.QUEUED,), meta={"bot": {"reason": d.reason}}, values=extra,
        )

    def _topic_department(self, row: Any, state: Mapping[str, Any], matcher: Matcher) -> str | None:
        """The department of the topic the customer was asking about, when the answer did not settle it."""
        entry = matcher.kb.get(str(state.get("last_entry") or ""))
        if entry is None or not entry.department or entry.department == row.department or row.kind == "complaint":
            return None
        return entry.department if self.hub.config.department(entry.department) is not None else None

    # --- queue status notices ---------------------------------------------------------------------------------------

    async def _maybe_notice(self, row: Any, lang: str) -> None:
        now = self.hub.clock.now()
        interval = timedelta(seconds=self.cfg.notice_interval)
        if row.last_notice_at is not None and now - row.last_notice_at < interval:
            return
        d = queue_notice(await self._queue_state(row, now, lang, row.last_notice_at, row.department), self.cfg)
        if d.action is not Action.NOTICE or not d.text:
            return
        # Claim the slot with a conditional UPDATE, so two processes (or a restart) never send two in one interval.
        async with self.hub.db.write() as conn:
            claimed = await conn.execute(
                update(tickets)
                .where(and_(tickets.c.id == row.id, tickets.c.status == Status.QUEUED.value,
                            or_(tickets.c.last_notice_at.is_(None), tickets.c.last_notice_at <= now - interval)))
                .values(last_notice_at=now)
            )
        if claimed.rowcount != 1:
            return
        await self.hub.actions.post_automatic(
            row.id, Author.SYSTEM, self._with_link(d.text, d.lang), only_if=(Status.QUEUED,),
            meta={"bot": {"reason": d.reason}},
        )

    async def _queue_state(self, row: Any, now: datetime, lang: str, last: datetime | None,
                           department: str | None) -> QueueState:
        dept_col = tickets.c.department
        same_dept = dept_col.is_(None) if department is None else dept_col == department
        earlier = or_(tickets.c.created_at < row.created_at, and_(tickets.c.created_at == row.created_at,
                                                                  tickets.c.id < row.id))
        async with self.hub.db.read() as conn:
            ahead = (
                await conn.execute(
                    select(tickets.c.id).where(and_(tickets.c.status == Status.QUEUED.value, same_dept, earlier))
                )
            ).all()
            waits = (
                await conn.execute(
                    select(tickets.c.created_at, tickets.c.first_response_at)
                    .where(and_(same_dept, tickets.c.first_response_at.is_not(None),
                                tickets.c.created_at >= now - _WAIT_WINDOW))
                    .order_by(tickets.c.created_at.desc())
                    .limit(_WAIT_SAMPLES)
                )
            ).all()
        samples = [(w.first_response_at - w.created_at).total_seconds() for w in waits]
        expected = timedelta(seconds=statistics.median(samples)) if len(samples) >= 3 else None
        open_now, next_opening = True, None
        try:
            from routing import calendar_for

            cal = calendar_for(self.hub.config, department)
            open_now = cal.is_open(now)
            if not open_now:
                next_opening = cal.next_open(now).astimezone(cal.zone)
        except ImportError:
            pass
        except ValueError as exc:  # a calendar that never opens: say nothing about hours
            log.warning("business hours for %s: %s", department, exc)
        return QueueState(
            status=Status.QUEUED, now=now, last_notice_at=last, position=len(ahead) + 1, expected_wait=expected,
            open_now=open_now, next_opening=next_opening, lang=lang, callback_enabled="callback" in self.hub.channels,
        )

    def _with_link(self, text: str, lang: str) -> str:
        """Point the callback offer at the page where the customer picks a time."""
        offer = texts.t("callback_offer", lang)
        if offer not in text:
            return text
        # On a line of its own: the link stays whole and clickable in right-to-left text.
        return text.replace(offer, f"{offer}\n{absolute('/callback', self.hub.config.server)}")
