"""Domain values that travel between modules.

Everything here is a frozen dataclass: channels build `Inbound`, the outbox hands channels an `Outbound`, and the
store returns `Ticket`/`Message` records.  No bare dicts cross a module boundary.
"""
from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Status(str, enum.Enum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    PENDING = "pending"  # waiting on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (Status.BOT, Status.QUEUED, Status.ASSIGNED, Status.PENDING)
OPEN_VALUES = tuple(s.value for s in OPEN_STATUSES)  # as stored, for SQL

# Flags of mails no person wrote: they never reopen a resolved ticket, answer a pending one or a survey.
NO_ANSWER = frozenset({"auto_reply", "bounce", "spam_report"})


class Author(str, enum.Enum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Direction(str, enum.Enum):
    IN = "in"
    OUT = "out"


class Delivery(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Role(str, enum.Enum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Priority(str, enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Kind(str, enum.Enum):
    QUESTION = "question"
    COMPLAINT = "complaint"
    SALES = "sales"
    CALLBACK = "callback"
    FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class Identity:
    """A customer's address on one channel: a web visitor id, a Telegram chat id, an email address, a phone."""

    channel: str
    external_id: str


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    size: int
    # Where the bytes are: a provider reference (Telegram file_id) or a stored blob key; fetched lazily.
    ref: str = ""
    inline: bool = False


PROVIDER_ID_MAX = 500  # the width of messages.provider_id


def provider_key(value: str) -> str:
    """A provider id as it is stored and looked up.  Ids that would not fit the column (a hostile Message-ID) or
    that PostgreSQL cannot take (NUL, lone surrogates) become a digest, so any id stores and still matches itself."""
    if len(value) <= PROVIDER_ID_MAX and "\x00" not in value and (value.isascii() or _encodable(value)):
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Inbound:
    """One customer message as a channel adapter saw it, before it is stored."""

    channel: str
    provider_id: str  # unique per channel: (channel, provider_id) is the idempotency key
    sender: Identity
    text: str
    received_at: datetime
    sender_name: str | None = None
    sender_lang: str | None = None
    subject: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # Provider ids of earlier messages this one answers (email References/In-Reply-To, Telegram reply_to).
    thread_refs: tuple[str, ...] = ()
    ticket_hint: int | None = None  # a ticket number the customer quoted, e.g. "[#123]" in a subject
    edit_of: str | None = None  # provider id of the message this edits
    extra_identities: tuple[Identity, ...] = ()  # proven by the channel, e.g. the sender's own Telegram contact
    # Addresses the sender typed (chat hello email, callback phone): kept as unverified display data on the
    # customer, never used to find one, so nobody can claim someone else's address.
    claims: tuple[Identity, ...] = ()
    # False when the channel cannot prove the sender owns `sender` (the contact form's email, the callback form's
    # phone): the message never joins a customer who proved that address.
    sender_verified: bool = True
    # Signals that must never get an automatic answer: "auto_reply", "bounce", "spam_report", "button".
    flags: frozenset[str] = frozenset()
    raw: dict[str, Any] = field(default_factory=dict)  # the provider event, kept for audit

    def __post_init__(self) -> None:
        # Every id that is stored or compared with stored ones goes through provider_key, whatever the channel.
        set_ = object.__setattr__
        set_(self, "provider_id", provider_key(self.provider_id))
        if self.edit_of is not None:
            set_(self, "edit_of", provider_key(self.edit_of))
        if self.thread_refs:
            set_(self, "thread_refs", tuple(provider_key(r) for r in self.thread_refs))


class NotAttempted(Exception):
    """A message of a batch (`deliver_many`) that was not tried: an earlier one of the batch could not be stored,
    and nothing is stored ahead of it."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """What `deliver(inbound)` returns once the message is committed."""

    message_id: int
    ticket_id: int
    customer_id: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """A pending delivery of one stored outgoing message on the ticket's channel."""

    outbox_id: int
    message_id: int
    ticket_id: int
    channel: str
    recipient: Identity
    text: str
    author: Author
    author_name: str | None = None
    html: str | None = None
    subject: str | None = None
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    thread_refs: tuple[str, ...] = ()  # provider ids of the conversation so far, newest last
    automatic: bool = False  # sent by the hub itself (bot, notices): e.g. email marks it Auto-Submitted
    created_at: datetime | None = None
    # A win-back or follow-up message: the customer's opt-out token and its one-click link (hub.surveys.optout),
    # which the email channel writes as List-Unsubscribe headers.
    unsubscribe_token: str | None = None
    unsubscribe_url: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_id: str | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str | None
    language: str | None
    tier: str
    account_manager_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    status: Status
    priority: str
    department: str | None
    kind: str
    channel: str
    language: str | None
    customer_id: int
    assignee_id: int | None
    subject: str | None
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    bot_misses: int = 0
    identity_id: int | None = None  # the identity the customer wrote from, where replies go


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    ticket_id: int
    direction: Direction
    author: Author
    text: str
    channel: str
    created_at: datetime
    delivery: Delivery | None
    provider_id: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    agent_id: int | None = None
    delivery_error: str | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Agent:
    id: int
    name: str
    email: str
    role: Role
    departments: tuple[str, ...]
    capacity: int
    active: bool = True
