"""The channel protocol.

A channel is handed a `ChannelContext` (above all, an injected `deliver`) instead of the application, so it can be
built and tested alone.  `deliver(inbound)` returns only after the message is committed: a channel acknowledges
its provider (IMAP flag, Telegram offset, widget ack) strictly after that.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from hub.domain import Accepted, Identity, Inbound, Outbound, SendResult

Deliver = Callable[[Inbound], Awaitable[Accepted]]
# Several messages in their order, sharing commits; each result is the message's Accepted or the exception that
# kept it from being stored (the others are stored all the same).
DeliverMany = Callable[[Sequence[Inbound]], Awaitable[list["Accepted | BaseException"]]]


@dataclass(frozen=True, slots=True)
class Capabilities:
    typing: bool = False
    buttons: bool = False
    html: bool = False
    max_text: int = 100_000  # longer texts are split by the channel itself
    max_attachment: int = 0  # bytes; 0 = the channel takes no attachments from agents
    # A chat-like channel continues the customer's open ticket; a mail-like one opens a ticket per new thread.
    conversational: bool = True
    # Replies carry the ids of the thread's earlier messages (email's In-Reply-To and References): the outbox looks
    # them up only for a channel that sends them.
    thread_refs: bool = False


class Checkpoints(Protocol):
    """Durable per-channel cursors (Telegram offset, IMAP UIDVALIDITY/UID), stored in the database."""

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str) -> None: ...


class Singleton(Protocol):
    """Runs work that must happen in exactly one hub process (polling a provider, one IMAP mailbox).

    `run(name, fn)` returns when stopped; with Redis configured it holds a lease with heartbeat, cancels `fn` when the
    lease is lost and starts it again when this process takes the lease over.  Without Redis it just runs `fn`.
    """

    async def run(self, name: str, fn: Callable[[], Awaitable[None]]) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelContext:
    deliver: Deliver
    checkpoints: Checkpoints
    singleton: Singleton
    # Marks an identity as unreachable (blocked the bot, address bouncing); shown to agents on the ticket.
    mark_unreachable: Callable[[Identity, str], Awaitable[None]]
    public_url: str | None = None
    extra: Any = None  # channel-specific collaborators a registry may inject
    # A batch of messages read together (a mailbox's fetch): they share transactions; None means one by one.
    deliver_many: DeliverMany | None = None


class SendError(Exception):
    """A delivery failed; the outbox retries it with backoff."""


class RetryAfter(SendError):
    def __init__(self, seconds: float, detail: str = "rate limited") -> None:
        super().__init__(detail)
        self.seconds = seconds


class PermanentError(SendError):
    """Retrying cannot help (bad address, message rejected): recorded as failed and shown to the agent."""


class Unreachable(PermanentError):
    """The recipient cannot be reached on this channel any more (blocked the bot, mailbox gone)."""


@runtime_checkable
class Channel(Protocol):
    name: str
    capabilities: Capabilities

    async def start(self, ctx: ChannelContext) -> None:
        """Begin receiving; background tasks are owned by the channel and ended in `stop`."""

    async def send(self, out: Outbound) -> SendResult:
        """Deliver one message; raise `SendError` (or a subclass) when it did not go out."""

    async def stop(self) -> None: ...

    def routes(self) -> Sequence[web.RouteDef]:
        """HTTP/WebSocket routes this channel serves (webhooks, sockets); empty for most."""


class TypingCapable(Protocol):
    async def typing(self, recipient: Identity) -> None: ...


class AttachmentSource(Protocol):
    async def fetch_attachment(self, ref: str, max_bytes: int) -> bytes: ...


class ProviderCopies(Protocol):
    """A channel whose provider keeps its own copy of what customers sent (a mailbox): erasure and retention ask it
    to remove the copies of these provider message ids, and for erasure everything sent from these addresses.
    Returns how many were removed; raises when the provider cannot be reached (the caller then stops)."""

    async def forget(self, provider_ids: Sequence[str], senders: Sequence[str]) -> int: ...
