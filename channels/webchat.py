"""Website chat over `WS /ws/chat`.

A visitor is known by a random token the server issues; only its SHA-256 is stored (as the identity's external id),
so the database never holds a usable token and a forged token simply starts a new, empty conversation.  Replies
travel on the bus topic of the visitor, so a customer connected to one process receives what another sent.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from channels.base import Capabilities, ChannelContext, PermanentError
from hub.domain import Identity, Inbound, Outbound, SendResult
from hub.errors import Invalid
from hub import wire
from hub.links import BASE
from hub.sockets import Feed
from hub.validation import check_strings

log = logging.getLogger("hub.channels.webchat")
NAME = "webchat"


GREETING = {
    "en": "Hi! How can we help you today?",
    "th": "สวัสดีค่ะ มีอะไรให้เราช่วยไหมคะ",
    "fa": "سلام! چطور می‌توانیم کمکتان کنیم؟",
}
AWAY = {
    "en": "Our team is away right now and back {when}. Leave your message here and we will answer then.",
    "th": "ขณะนี้อยู่นอกเวลาทำการ ทีมงานจะกลับมา{when} ฝากข้อความไว้ได้เลย แล้วเราจะตอบกลับเมื่อเปิดทำการค่ะ",
    "fa": "همکاران ما الان در دسترس نیستند و {when} برمی‌گردند. پیامتان را همین‌جا بگذارید تا همان موقع پاسخ دهیم.",
}


class WebchatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    history_limit: int = 200
    heartbeat: float = 30.0
    # The widget's look and first words; a site can override each on its script tag (data-color, data-position,
    # data-title, data-greeting).  Texts per language, English when the visitor's is missing.
    title: dict[str, str] = {}
    greeting: dict[str, str] = Field(default_factory=lambda: dict(GREETING))
    away: dict[str, str] = Field(default_factory=lambda: dict(AWAY), description="outside business hours; {when} is the time the team is back")
    color: str = Field("#1d4ed8", pattern=r"^#[0-9A-Fa-f]{6}$")
    position: Literal["right", "left"] = "right"

    def widget_settings(self) -> dict[str, Any]:
        """What the widget script is served with (hub.web.catalogs)."""
        return {"title": self.title, "greeting": self.greeting, "away": self.away, "color": self.color, "position": self.position}


class Bus(Protocol):
    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...
    def subscribe(self, topic: str, handler: Callable[[dict[str, Any]], None]) -> Callable[[], None]: ...


@dataclass(frozen=True, slots=True)
class WebchatHost:
    """What the chat socket needs from the hub besides `deliver`."""

    bus: Bus
    # visitor hash -> (customer id, open ticket id or None, history as message dicts), or None for a new visitor
    resume: Callable[[str, int], Awaitable[tuple[int, int | None, list[dict[str, Any]]] | None]]
    allow_message: Callable[[str], Awaitable[bool]]  # per-visitor rate limit
    allow_connect: Callable[[web.Request], Awaitable[bool]]  # per-IP rate limit
    origin_allowed: Callable[[web.Request], bool]
    max_frame: int
    max_text: int
    on_typing: Callable[[str], Awaitable[None]]  # visitor hash; tells agents the customer is typing
    frames_per_minute: int = 0  # every frame of one socket counts; 0 = unlimited (load tests)
    typing_every: float = 3.0  # seconds: at most one typing event per visitor in this time
    # When the team is back, None while open (the hub's business hours): the widget says so on opening.
    back_at: Callable[[], datetime | None] = lambda: None


class FrameBudget:
    """A token bucket per socket: `per_minute` frames, refilled continuously.  A client that keeps sending past
    it (one more budget's worth of refused frames) is disconnected."""

    __slots__ = ("per_minute", "tokens", "at", "refused")

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.tokens = float(per_minute)
        self.at = time.monotonic()
        self.refused = 0

    def take(self) -> bool:
        if not self.per_minute:
            return True
        now = time.monotonic()
        self.tokens = min(self.per_minute, self.tokens + (now - self.at) * self.per_minute / 60.0)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.refused = 0
            return True
        self.refused += 1
        return False

    @property
    def abusive(self) -> bool:
        return self.per_minute > 0 and self.refused > self.per_minute


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def decode_frame(data: str) -> tuple[dict[str, Any] | None, tuple[str, str]]:
    """A client frame as a JSON object, or None and the (code, detail) of the error frame to answer.  Never raises:
    the socket stays open whatever a client sends."""
    try:
        frame = json.loads(data)
    except RecursionError:
        return None, ("bad_json", "frame nests too deeply")
    except ValueError:
        return None, ("bad_json", "frame is not valid JSON")
    if not isinstance(frame, dict):
        return None, ("bad_frame", "frame must be a JSON object")
    if _SURROGATE_ESCAPE.search(data):  # lone surrogates cannot be stored or sent on
        try:
            check_strings(frame)
        except (Invalid, RecursionError):
            return None, ("bad_text", "frame holds text that is not valid Unicode")
    return frame, ("", "")


def visitor_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def topic(visitor: str) -> str:
    return f"chat:{visitor}"


class WebchatChannel:
    name = NAME
    capabilities = Capabilities(typing=True, buttons=True, max_text=10_000)

    def __init__(self, config: WebchatConfig) -> None:
        self.config = config
        self._ctx: ChannelContext | None = None
        self._host: WebchatHost | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._typed: dict[str, float] = {}  # visitor hash -> monotonic time of the last typing event passed on

    async def start(self, ctx: ChannelContext) -> None:
        self._ctx = ctx
        self._host = ctx.extra

    async def stop(self) -> None:
        for ws in tuple(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.get("/ws/chat", self.handle)]

    async def send(self, out: Outbound) -> SendResult:
        assert self._host is not None
        frame = {
            "type": "message",
            "id": out.message_id,
            "ticket_id": out.ticket_id,
            "author": out.author.value,
            "text": out.text,
            "created_at": (out.created_at or datetime.now(timezone.utc)).isoformat(),
        }
        if out.buttons:
            frame["buttons"] = [{"label": b.label, "payload": b.payload} for b in out.buttons]
        if out.author_name:
            frame["name"] = out.author_name
        # Delivered = handed to every live socket of the visitor on any process; an offline visitor gets it with
        # the history on reconnect, which is why the message is stored before this runs.
        await self._host.bus.publish(topic(out.recipient.external_id), frame)
        return SendResult(provider_id=None)

    async def typing(self, recipient: Identity) -> None:
        assert self._host is not None
        await self._host.bus.publish(topic(recipient.external_id), {"type": "typing", "author": "agent"})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        host, ctx = self._host, self._ctx
        if host is None or ctx is None:
            raise web.HTTPServiceUnavailable()
        if not host.origin_allowed(request):
            raise web.HTTPForbidden(text="origin not allowed")
        if not await host.allow_connect(request):
            raise web.HTTPTooManyRequests(text="too many connections")
        # No permessage-deflate: chat frames are small and compression costs a third of the throughput.
        ws = web.WebSocketResponse(max_msg_size=host.max_frame, compress=False, heartbeat=self.config.heartbeat)
        await ws.prepare(request)
        self._sockets.add(ws)
        feed = Feed(ws, 1000)
        unsubscribe: Callable[[], None] | None = None
        visitor: str | None = None
        hello: dict[str, Any] = {}
        budget = FrameBudget(host.frames_per_minute)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
                if not budget.take():  # counted before any work is done on the frame
                    if budget.abusive:
                        await ws.close(code=1008, message=b"too many frames")
                        break
                    if budget.refused == 1:
                        await _error(ws, "rate_limited", "too many frames; wait a moment")
                    continue
                if msg.type != WSMsgType.TEXT:
                    await _error(ws, "bad_frame", "frames are JSON text")
                    continue
                frame, problem = decode_frame(msg.data)
                if frame is None:
                    await _error(ws, *problem)
                    continue
                kind = frame.get("type")
                if visitor is None:
                    if kind != "hello":
                        await _error(ws, "hello_first", "send a hello frame first")
                        continue
                    visitor, hello = await self._hello(ws, host, frame)
                    unsubscribe = host.bus.subscribe(topic(visitor), feed.put)
                elif kind == "message":
                    await self._message(ws, host, ctx, visitor, hello, frame)
                    # A sent message ends the typing spell (agents' consoles hide the indicator on it), so the next
                    # keystroke is news again; messages have their own, tighter limit.
                    self._typed.pop(visitor, None)
                elif kind == "typing":
                    if self._typing_due(visitor, host.typing_every):
                        await host.on_typing(visitor)
                elif kind == "hello":
                    await _error(ws, "already_greeted", "hello was already received")
                else:
                    await _error(ws, "unknown_type", f"unknown frame type {str(kind)[:40]!r}")
        finally:
            self._sockets.discard(ws)
            if unsubscribe:
                unsubscribe()
            feed.close()
        return ws

    def _typing_due(self, visitor: str, every: float) -> bool:
        """One typing event per visitor per `every` seconds: each costs a read and a broadcast to every agent."""
        now = time.monotonic()
        if now - self._typed.get(visitor, -every) < every:
            return False
        if len(self._typed) > 50_000:  # forget visitors who stopped typing long ago
            self._typed = {k: v for k, v in self._typed.items() if now - v < every}
        self._typed[visitor] = now
        return True

    async def _hello(self, ws: web.WebSocketResponse, host: WebchatHost, frame: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        token = frame.get("visitor_token")
        resumed = None
        if isinstance(token, str) and 16 <= len(token) <= 200:
            resumed = await host.resume(visitor_hash(token), self.config.history_limit)
        if resumed is None:
            # Unknown or forged tokens never adopt anything: the visitor gets a fresh token and an empty history.
            token = secrets.token_urlsafe(32)
        visitor = visitor_hash(token)
        hello = {k: v[:200] for k in ("name", "email", "lang") if isinstance(v := frame.get(k), str) and v.strip()}
        # The limits let the widget refuse what the server would refuse, before sending: a frame over max_frame
        # closes the socket (1009), and a resent one would close it again on every reconnect.
        welcome: dict[str, Any] = {"type": "welcome", "visitor_token": token, "history": [],
                                   "limits": {"max_frame": host.max_frame, "max_text": host.max_text}}
        back = host.back_at()
        welcome["open"] = back is None
        if back is not None:
            welcome["back_at"] = back.isoformat()
        if resumed is not None:
            customer_id, ticket_id, history = resumed
            welcome.update(ticket_id=ticket_id, history=history, customer_id=customer_id)
        await wire.send_one(ws, welcome)
        return visitor, hello

    async def _message(
        self, ws: web.WebSocketResponse, host: WebchatHost, ctx: ChannelContext, visitor: str, hello: dict[str, Any], frame: dict[str, Any]
    ) -> None:
        client_id, text = frame.get("client_id"), frame.get("text")
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= 100:
            await _error(ws, "bad_client_id", "client_id must be a string of 1-100 characters")
            return
        if not isinstance(text, str) or not text.strip():
            await _error(ws, "empty_text", "text must be a non-empty string", client_id=client_id)
            return
        if len(text) > host.max_text:
            await _error(ws, "text_too_long", f"text is longer than {host.max_text} characters", client_id=client_id)
            return
        if not await host.allow_message(visitor):
            await _error(ws, "rate_limited", "too many messages; wait a moment", client_id=client_id)
            return
        payload = frame.get("payload")
        raw: dict[str, Any] = {"frame": {"client_id": client_id}}
        if base := BASE.get():
            raw["base"] = base  # the address the visitor reached us at: links sent back use it
        flags: frozenset[str] = frozenset()
        if isinstance(payload, str) and payload:
            raw["payload"] = payload[:200]
            flags = frozenset({"button"})
        # The hello's email is only what the visitor typed: an unverified address shown to agents, never an
        # identity (anyone could type someone else's).  Sent with the socket's first stored message only, so the
        # messages after it keep the intake's fast path.
        claims: tuple[Identity, ...] = ()
        email = hello.get("email")
        if email and "@" in email and not hello.get("claimed"):
            claims = (Identity("email", email.strip().lower()),)
        inbound = Inbound(
            channel=NAME,
            provider_id=f"{visitor[:32]}:{client_id}",
            sender=Identity(NAME, visitor),
            text=text.replace("\x00", ""),
            received_at=datetime.now(timezone.utc),
            sender_name=hello.get("name"),
            sender_lang=hello.get("lang"),
            claims=claims,
            flags=flags,
            raw=raw,
        )
        try:
            accepted = await ctx.deliver(inbound)
        except PermanentError as exc:
            await _error(ws, "rejected", str(exc), client_id=client_id)
            return
        except Exception:
            log.exception("storing a chat message failed")
            await _error(ws, "unavailable", "the message could not be stored; please resend", client_id=client_id)
            return
        if claims:
            hello["claimed"] = "1"
        await wire.send_one(ws, {"type": "ack", "client_id": client_id, "message_id": accepted.message_id, "ticket_id": accepted.ticket_id})


async def _error(ws: web.WebSocketResponse, code: str, detail: str, **extra: Any) -> None:
    await wire.send_one(ws, {"type": "error", "code": code, "detail": detail, **extra})


def build(raw: dict[str, Any]) -> WebchatChannel:
    return WebchatChannel(WebchatConfig.model_validate(raw))
