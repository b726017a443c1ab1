"""Booking callbacks: the slots on offer, validating a request, and booking it within capacity.

A booking is a ticket like any other: the request enters through `intake.deliver` on the customer's own channel
(web chat, Telegram, email) or, with no written channel, on the `callback` channel under the phone identity.  Then
one write transaction re-checks the slot's capacity under a per-slot lock, turns the ticket into a callback with a
"call by" deadline, and writes the callback row, its scheduler jobs and the confirmation together.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import uuid
import weakref
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from hub.callbacks import store
from hub.callbacks.config import CallbackConfig
from hub.callbacks.slots import Slot, SlotGrid
from hub.callbacks.texts import say, window
from hub.i18n import N_
from hub.links import absolute
from hub.callbacks.values import human, local, mask, parse_time, phone_e164, zone
from hub.domain import Accepted, Identity, Inbound, Message, Status
from hub.validation import text_field
from hub.errors import ConflictError, Invalid
from hub.store import facts
from hub.store import tickets as ticket_store
from hub.store.schema import callbacks, messages, tickets

log = logging.getLogger("hub.callbacks")
REQUEST_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class SlotFull(ConflictError):
    code = "slot_full"


class TooManyBookings(ConflictError):
    code = "booking_limit"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the customer asked from: replies and notices go back there."""

    channel: str
    sender: Identity
    thread_refs: tuple[str, ...] = ()
    ticket_hint: int | None = None  # the ticket an agent booked from: the request joins it


@dataclass(frozen=True, slots=True)
class Request:
    name: str | None
    phone: str  # E.164
    slot: Slot  # the grid slot the window counts against
    window_start: datetime
    window_end: datetime
    tz: str
    topic: str | None = None
    lang: str | None = None
    visitor_token: str | None = None
    request_key: str | None = None


@dataclass(frozen=True, slots=True)
class Booked:
    callback: dict[str, Any]
    manage_token: str | None  # None when the booking was a replay of an earlier one
    duplicate: bool = False


def visitor_identity(token: str) -> Identity:
    # The web chat stores a visitor as the SHA-256 of its token; booking with the token reaches the same socket.
    return Identity("webchat", hashlib.sha256(token.encode()).hexdigest())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _text(data: dict[str, Any], name: str, limit: int, required: bool = False) -> str | None:
    return text_field(data, name, limit, required=required, strip=True)


class CallbackService:
    def __init__(self, hub: Any, config: CallbackConfig) -> None:
        self.hub, self.config = hub, config
        self.db, self.clock = hub.db, hub.clock
        dept = hub.config.department(config.department)
        hours = dept.business_hours if dept is not None and dept.business_hours else hub.config.business_hours
        self.grid = SlotGrid(hours, config.slot_minutes)
        self._locks: weakref.WeakValueDictionary[datetime, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def writable(self) -> set[str]:
        """Channels a notice can be written to (the callback channel itself has no written address)."""
        return {name for name in self.hub.channels if name != "callback"}

    def manage_url(self, callback_id: int, token: str) -> str:
        """The customer's link to cancel or move the call, absolute (hub/links.py); the page speaks the booking's
        language."""
        return absolute(f"/callback/{callback_id}?t={token}", self.hub.config.server)

    # -- slots -------------------------------------------------------------------------------------------------
    async def capacity(self, conn: Any) -> int:
        n = await store.agents_in(conn, self.config.department)
        return (n or self.config.agents_on_shift) * self.config.calls_per_agent_per_slot

    def _bookable(self, slots: list[Slot], now: datetime) -> list[Slot]:
        horizon = now + timedelta(days=self.config.horizon_days)
        return [s for s in slots if now < s.start <= horizon]

    async def day(self, day: date, tz: ZoneInfo) -> list[tuple[Slot, int]]:
        """Bookable slots starting on a calendar date of the customer's zone, with the places left in each."""
        now = self.clock.now()
        a, b = self.grid.local_day(day, tz)
        slots = self._bookable(self.grid.slots(a, b), now)
        if not slots:
            return []
        async with self.db.read() as conn:
            cap = await self.capacity(conn)
            taken = await store.booked(conn, slots[0].start, slots[-1].end)
        return [(s, max(cap - taken.get(s.start, 0), 0)) for s in slots]

    async def free_day(self, day: date, tz: ZoneInfo) -> tuple[date, list[tuple[Slot, int]]]:
        """`day` when a time is free on it, else the next day that has one (after hours, on a full day or a
        holiday), with that day's slots; `day` itself when nothing is free within the horizon."""
        items = await self.day(day, tz)
        if any(n > 0 for _, n in items):
            return day, items
        nxt = await self.next_free(datetime.combine(day, datetime.min.time(), tz), limit=1)
        if not nxt:
            return day, items
        found = nxt[0].start.astimezone(tz).date()
        return found, await self.day(found, tz)

    async def next_free(self, after: datetime, limit: int | None = None) -> list[Slot]:
        now = self.clock.now()
        limit = limit or self.config.next_slots
        start = max(after, now)
        end = now + timedelta(days=self.config.horizon_days)
        out: list[Slot] = []
        async with self.db.read() as conn:
            cap = await self.capacity(conn)
            while start < end and len(out) < limit:
                chunk_end = min(start + timedelta(days=2), end)
                slots = self._bookable(self.grid.slots(start, chunk_end), now)
                if slots:
                    taken = await store.booked(conn, slots[0].start, slots[-1].end)
                    out.extend(s for s in slots if taken.get(s.start, 0) < cap)
                start = chunk_end
        return out[:limit]

    @staticmethod
    def slot_json(s: Slot, tz: ZoneInfo | str, available: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"start": local(s.start, tz), "end": local(s.end, tz)}
        if available is not None:
            body["available"] = available
        return body

    # -- validation ----------------------------------------------------------------------------------------------
    def window(self, data: dict[str, Any], tz: ZoneInfo, *, prefix: str = "") -> tuple[Slot, datetime, datetime]:
        """(grid slot, window start, window end) from "slot" or "window_start"/"window_end" (422 naming the field)."""
        now = self.clock.now()
        horizon = now + timedelta(days=self.config.horizon_days)
        if data.get("slot") not in (None, ""):
            f = f"{prefix}slot"
            at = parse_time(data.get("slot"), tz, f)
            found = [s for s in self.grid.slots(at, at + timedelta(seconds=1)) if s.start == at]
            if not found:
                raise Invalid(f"{f} is not the start of a call slot within business hours", field=f)
            if at <= now:
                raise Invalid(f"{f} is in the past", field=f)
            if at > horizon:
                raise Invalid(f"{f} is more than {self.config.horizon_days} days ahead", field=f)
            return found[0], found[0].start, found[0].end
        fs, fe = f"{prefix}window_start", f"{prefix}window_end"
        if data.get("window_start") in (None, ""):
            raise Invalid(f"give {prefix}slot or {fs} and {fe}", field=fs)
        start = parse_time(data.get("window_start"), tz, fs)
        end = parse_time(data.get("window_end"), tz, fe)
        if end <= start:
            raise Invalid(f"{fe} must be after {fs}", field=fe)
        if start < now:
            raise Invalid(f"{fs} is in the past", field=fs)
        if start > horizon:
            raise Invalid(f"{fs} is more than {self.config.horizon_days} days ahead", field=fs)
        if self.grid.slot_for_window(start, start + timedelta(minutes=1)) is None:
            raise Invalid(f"{fs} is outside business hours", field=fs)
        slot = self.grid.slot_for_window(start, end)
        if slot is None:
            raise Invalid(f"{fe} is after business hours end", field=fe)
        return slot, start, end

    def parse(self, data: dict[str, Any]) -> Request:
        name = _text(data, "name", 200, required=True)
        phone = phone_e164(data.get("phone"), self.hub.config.default_region)
        tz = zone(data.get("tz"))
        slot, start, end = self.window(data, tz)
        topic = _text(data, "topic", 500)
        lang = _text(data, "lang", 10)
        if lang is not None and not LANG.match(lang):
            raise Invalid("lang must be a language code such as en, th or fa", field="lang")
        token = data.get("visitor_token")
        if token in ("", None):
            token = None
        elif not isinstance(token, str) or not 16 <= len(token) <= 200:
            raise Invalid("visitor_token is not a chat visitor token", field="visitor_token")
        key = data.get("request_id") or data.get("submission_id")
        key = key if isinstance(key, str) and REQUEST_KEY.match(key) else None
        return Request(name, phone, slot, start, end, str(tz.key), topic, lang and lang.lower(), token, key)

    # -- booking -------------------------------------------------------------------------------------------------
    async def by_request_key(self, key: str) -> Booked | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(callbacks).where(callbacks.c.request_key == key))).first()
        return None if row is None else Booked(store.callback_json(row), None, duplicate=True)

    async def book(self, req: Request, origin: Origin | None = None, *, by_agent: bool = False) -> Booked:
        """Book within capacity; raises SlotFull (409, with the next free slots) when the slot is taken and, unless
        an agent books, TooManyBookings (409) when the number or the customer already has enough booked."""
        if req.request_key and (prior := await self.by_request_key(req.request_key)):
            return prior
        phone = Identity("phone", req.phone)
        if origin is None:
            origin = Origin("callback", phone)
            if req.visitor_token and "webchat" in self.hub.channels:
                visitor = visitor_identity(req.visitor_token)
                # Only a conversation that exists takes the booking: a token nobody has written with (one an
                # attacker made up and handed to a victim) would otherwise open a chat the attacker can read.
                async with self.db.read() as conn:
                    if await ticket_store.identity_exists(conn, visitor.channel, visitor.external_id):
                        origin = Origin("webchat", visitor)
        if not by_agent:
            await self._within_caps(req, origin)
        lock = self._locks.get(req.slot.start)
        if lock is None:
            lock = self._locks[req.slot.start] = asyncio.Lock()
        # In-process serialisation per slot keeps a lost race from creating a ticket first; the database lock in
        # `_commit` is what holds capacity across processes.
        async with lock:
            async with self.db.read() as conn:
                full = await store.booked_in(conn, req.slot.start) >= await self.capacity(conn)
            if full:
                raise await self._full(req.slot, req.tz)
            accepted = await self.hub.intake.deliver(self._inbound(req, origin, phone))
            if accepted.duplicate and req.request_key and (prior := await self.by_request_key(req.request_key)):
                return prior
            try:
                row, token, sent = await self._commit(accepted, req)
            except SlotFull:
                await self._orphan(accepted)
                raise await self._full(req.slot, req.tz) from None
        cb = store.callback_json(row)
        log.info("callback %s booked on ticket %s for %s via %s (%s)", row.id, row.ticket_id, row.window_start.isoformat(), origin.channel, mask(req.phone))
        await self._after(row.ticket_id, sent, {"type": "callback.created", "callback": cb})
        return Booked(cb, token)

    async def _within_caps(self, req: Request, origin: Origin) -> None:
        cfg = self.config
        async with self.db.read() as conn:
            by_phone = await store.active_for(conn, phone=req.phone)
            by_customer = 0 if origin.channel == "callback" else await store.active_for(
                conn, channel=origin.sender.channel, external_id=origin.sender.external_id)
        if by_phone >= cfg.max_active_per_phone:
            raise TooManyBookings(f"this number already has {by_phone} calls booked; change or cancel one with the "
                                  "link in its confirmation", field="phone", say_values={"n": by_phone},
                                  say=N_("This phone number already has {n} calls booked. Please change or cancel one with the link in its confirmation."))
        if by_customer >= cfg.max_active_per_customer:
            raise TooManyBookings(f"you already have {by_customer} calls booked; change or cancel one with the link "
                                  "in its confirmation", field="visitor_token", say_values={"n": by_customer},
                                  say=N_("You already have {n} calls booked. Please change or cancel one with the link in its confirmation."))

    def _inbound(self, req: Request, origin: Origin, phone: Identity) -> Inbound:
        when = f"{human(req.window_start, req.tz)}-{human(req.window_end, req.tz)[11:]} ({req.tz})"
        # A web chat's history is shown to whoever holds its token: the number is masked there (agents read it
        # whole on the callback itself); other channels never serve their history back to the customer.
        shown = mask(req.phone) if origin.channel == "webchat" else req.phone
        lines = [f"Callback request: please call {shown} between {when}."]
        if req.topic:
            lines.append(f"Topic: {req.topic}")
        return Inbound(
            channel=origin.channel,
            provider_id=f"callback:{req.request_key or uuid.uuid4().hex}",
            sender=origin.sender,
            text="\n".join(lines),
            received_at=self.clock.now(),
            sender_name=req.name,
            sender_lang=req.lang,
            subject=f"Callback: {req.topic or req.name or mask(req.phone)}"[:200],
            thread_refs=origin.thread_refs,
            ticket_hint=origin.ticket_hint,
            # A typed phone number proves nothing: on the callback form it is an unverified sender (never joining
            # the customer who proved the number, e.g. by sharing it on Telegram), in a chat an unverified claim.
            sender_verified=origin.sender != phone,
            claims=() if origin.sender == phone else (phone,),
            # Not a question for the FAQ bot: the booking itself is the answer.
            flags=frozenset({"callback_request"}),
            raw={"callback": {"window_start": req.window_start.isoformat(), "window_end": req.window_end.isoformat(), "tz": req.tz}},
        )

    async def _commit(self, accepted: Accepted, req: Request) -> tuple[Any, str, tuple[Message, int] | None]:
        now = self.clock.now()
        token = secrets.token_urlsafe(18)
        async with self.db.write() as conn:
            await store.lock_slot(conn, req.slot.start)
            if await store.booked_in(conn, req.slot.start) >= await self.capacity(conn):
                raise SlotFull("the slot was just taken")
            t = await ticket_store.get_ticket(conn, accepted.ticket_id)
            values: dict[str, Any] = {
                "kind": "callback", "department": self.config.department, "first_response_due": req.window_end,
                "updated_at": now,
            }
            traces = [("callback", f"call {mask(req.phone)} between {human(req.window_start, req.tz)} and "
                                   f"{human(req.window_end, req.tz)} {req.tz}; call-by deadline {req.window_end.isoformat()}")]
            if t.status is Status.BOT:  # the bot is done with it: a person calls
                values["status"] = Status.QUEUED.value
                traces.append(("handoff", "callback booked"))
            await conn.execute(update(tickets).where(tickets.c.id == t.id).values(**values))
            await ticket_store.add_traces(conn, t.id, now, traces)
            cid = (
                await conn.execute(
                    insert(callbacks).values(
                        ticket_id=t.id, customer_id=accepted.customer_id, phone=req.phone,
                        window_start=req.window_start, window_end=req.window_end, tz=req.tz, status="scheduled",
                        attempts=0, topic=req.topic, lang=req.lang, slot_start=req.slot.start, created_at=now,
                        updated_at=now, manage_hash=token_hash(token), request_key=req.request_key,
                    ).returning(callbacks.c.id)
                )
            ).scalar_one()
            await store.schedule_jobs(conn, cid, req.window_start, req.window_end, now, self.remind_at(req.window_start))
            facts.note("callback.booked", cid)
            facts.note("updated", t.id)
            fmt = dict(phone=mask(req.phone), **window(req.window_start, req.window_end, req.tz, req.lang))
            text_ = say("confirmed", req.lang, **fmt) + "\n" + say("manage", req.lang, url=self.manage_url(cid, token))
            sent = await store.notice(conn, t.id, text_, now, self.writable)
            row = await store.get(conn, cid)
        return row, token, sent

    def remind_at(self, window_start: datetime) -> datetime | None:
        before = self.config.reminder_before
        return window_start - before if before > timedelta(0) else None

    async def _full(self, slot: Slot, tz: str) -> SlotFull:
        free = await self.next_free(slot.start)
        return SlotFull("this time is fully booked; pick another", field="slot",
                        slots=[self.slot_json(s, tz) for s in free])

    async def _orphan(self, accepted: Accepted) -> None:
        """The slot filled up between the check and the commit (another process): a ticket opened only for this
        request is closed; one that already held a conversation just keeps a trace."""
        now = self.clock.now()
        async with self.db.write() as conn:
            first = (await conn.execute(select(messages.c.id).where(messages.c.ticket_id == accepted.ticket_id).order_by(messages.c.id).limit(1))).scalar()
            why = "the requested callback slot was taken by another booking meanwhile"
            await ticket_store.add_trace(conn, accepted.ticket_id, now, "callback", why)
            if first == accepted.message_id:
                await ticket_store.set_status(conn, accepted.ticket_id, ["bot", "queued", "assigned", "pending", "resolved"], now,
                                              status="closed", closed_at=now)

    async def _after(self, ticket_id: int, sent: tuple[Message, int] | None, event: dict[str, Any] | None) -> None:
        """Publish what a committed change means: the notice to send, the ticket and the callback events."""
        async with self.db.read() as conn:
            t = await ticket_store.get_ticket(conn, ticket_id)
        if sent is not None:
            self.hub.outbox.kick(sent[1])
            await self.hub.events.message(sent[0], t)
        await self.hub.events.ticket("ticket.updated", t)
        if event is not None:
            await self.hub.events.raw(event)
