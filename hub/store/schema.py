"""Tables.  Alembic migrations in hub/migrations are the history of this file; a test keeps them in step."""
from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    text,
    true,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], datetime | None] | None:
        """On SQLite, the stored UTC text read as an aware time in one step: `fromisoformat` of the text with its
        offset added takes a tenth of the two-step chain (DATETIME's parse, then `replace(tzinfo=...)`, whose
        keyword parsing is the dear part), and a ticket row holds six times.  Text in any other shape (an offset
        already there, a bare date, None) goes the two-step way, so every value reads as before (tests compare
        both)."""
        chain = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or chain is None:
            return chain
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            # Only the store's own shape, 'YYYY-MM-DD HH:MM:SS.ffffff' (fromisoformat reads some other shapes with
            # an offset added as naive times).
            if type(value) is str and len(value) == 26 and value[10] == " ":
                try:
                    return parse(value + "+00:00")
                except ValueError:
                    pass
            return chain(value)  # type: ignore[no-any-return]

        return process

    def bind_processor(self, dialect: Any) -> Callable[[datetime | None], Any] | None:
        """On SQLite, `process_bind_param` and the DATETIME text SQLAlchemy writes ('YYYY-MM-DD HH:MM:SS.ffffff') in
        one step: a new ticket binds some thirty times, and the two-step chain with its %-format of seven fields was
        a tenth of the intake's statements.  The text is the same (tests/test_store_prepared.py compares both)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        utc = timezone.utc
        # The last value and its text, as one tuple (replaced whole, so a reader on another thread never pairs a
        # value with another's text): a transaction binds its one `now` over and over (a new ticket's created and
        # updated times, each trace line, the message), and datetimes do not change.
        last: tuple[datetime | None, str | None] = (None, None)

        def process(value: datetime | None) -> str | None:
            nonlocal last
            if value is None:
                return None
            seen = last
            if seen[0] is value:
                return seen[1]
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store")
            # 'YYYY-MM-DD HH:MM:SS.ffffff+00:00' less its offset (the year has four digits up to 9999)
            text = (value if value.tzinfo is utc else value.astimezone(utc)).isoformat(" ", "microseconds")[:26]
            last = (value, text)
            return text

        return process


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(20), nullable=False),
    Column("departments", JSON, nullable=False, default=list),
    Column("capacity", Integer, nullable=False, default=5),
    Column("active", Boolean, nullable=False, default=True),
    Column("presence", String(20), nullable=False, default="offline"),
    Column("last_assigned_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(300)),
    Column("language", String(10)),
    Column("tier", String(40), nullable=False, default="standard"),
    Column("tags", JSON, nullable=False, default=list),
    Column("account_manager_id", Integer, ForeignKey("agents.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("erased_at", UtcDateTime),  # set when an admin erased the customer: an anonymous shell for the counts
    Column("tz", String(64)),  # the customer's time zone when known (a callback booking, the widget); follow-ups use it
    # Opted out of win-back and proactive follow-up messages (List-Unsubscribe); replies to their tickets still go.
    Column("unsubscribed_at", UtcDateTime),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("channel", String(40), nullable=False),
    Column("external_id", String(320), nullable=False),
    Column("display", String(320)),  # what agents see (an email address, "@username"); the id may be a hash
    Column("unreachable", String(500)),  # why the last delivery could not reach it, if it could not
    Column("created_at", UtcDateTime, nullable=False),
    # A verified identity is proven by its channel (the chat token, the Telegram chat, a mail from the address, the
    # sender's own Telegram contact) and is unique.  An unverified one is an address someone typed (chat hello
    # email, callback phone, contact form): display data of the customer who gave it, never used to find a
    # customer, so several customers may hold the same one.
    Column("verified", Boolean, nullable=False, default=True, server_default=true()),
    Index("uq_identities_verified", "channel", "external_id", unique=True,
          sqlite_where=text("verified"), postgresql_where=text("verified")),
    Index("ix_identities_channel_external", "channel", "external_id"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("priority", String(20), nullable=False, default="normal"),
    Column("department", String(100)),
    Column("kind", String(20), nullable=False, default="question"),
    Column("channel", String(40), nullable=False),
    Column("language", String(10)),
    Column("assignee_id", Integer, ForeignKey("agents.id", ondelete="SET NULL")),
    Column("subject", String(500)),
    # The identity the customer wrote from: every reply goes back there, on the customer's own channel.
    Column("identity_id", Integer, ForeignKey("identities.id", ondelete="SET NULL")),
    Column("tags", JSON, nullable=False, default=list),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("first_response_due", UtcDateTime),
    Column("resolution_due", UtcDateTime),
    Column("first_response_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("sla_paused_at", UtcDateTime),
    Column("breached", JSON, nullable=False, default=list),  # which SLA targets were missed
    Column("bot_misses", Integer, nullable=False, default=0),
    Column("bot_state", JSON, nullable=False, default=dict),  # the bot's memory of this ticket
    Column("last_notice_at", UtcDateTime),
    Column("parent_id", Integer, ForeignKey("tickets.id", ondelete="SET NULL")),
    # When the ticket's personal data was removed (the customer erased, or retention ran); counts and times stay.
    Column("anonymised_at", UtcDateTime),
    Index("ix_tickets_customer_status", "customer_id", "status"),
    Index("ix_tickets_status_updated", "status", "updated_at"),
    # What the retention job has still to look at: finished tickets not yet anonymised, oldest first.
    Index("ix_tickets_retention", "status", "updated_at", sqlite_where=text("anonymised_at IS NULL"),
          postgresql_where=text("anonymised_at IS NULL")),
    Index("ix_tickets_created", "created_at"),  # reports read a date range
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("author", String(20), nullable=False),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="SET NULL")),
    Column("text", Text, nullable=False),
    Column("html", Text),
    Column("channel", String(40), nullable=False),
    # (channel, provider_id) is the idempotency key: a redelivered update or re-fetched mail changes nothing.
    Column("provider_id", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivery", String(10)),
    Column("delivery_error", String(1000)),
    Column("attachments", JSON, nullable=False, default=list),
    Column("automatic", Boolean, nullable=False, default=False),
    Column("edited_at", UtcDateTime),
    Column("edits", JSON, nullable=False, default=list),  # earlier texts, oldest first
    Column("meta", JSON, nullable=False, default=dict),  # subject, buttons, flags, thread refs
    Column("raw", JSON),
    # True while a customer message waits for the language review (hub.escalation): the review runs after the
    # commit, so a hub that stops first finds the message here on its next start.  NULL once reviewed.
    Column("review_pending", Boolean),
    UniqueConstraint("channel", "provider_id", name="uq_messages_channel_provider"),
    Index("ix_messages_ticket", "ticket_id", "id"),
    # Messages whose raw provider data the retention job has still to remove.
    Index("ix_messages_raw", "created_at", sqlite_where=text("raw IS NOT NULL"), postgresql_where=text("raw IS NOT NULL")),
    Index("ix_messages_review_pending", "id", sqlite_where=text("review_pending"), postgresql_where=text("review_pending")),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="SET NULL")),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# The trace lines of a handoff to a person: the bot's (`handoff`) and an escalation's (`escalated`).
HANDOFF_WHATS = ("handoff", "escalated")
HANDOFF_LIST = "(" + ", ".join(f"'{w}'" for w in HANDOFF_WHATS) + ")"

trace = Table(
    "trace",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("what", String(200), nullable=False),
    Column("why", Text, nullable=False),
    # Reports find the handed-off tickets without reading every line.  Only those lines are in the index: a full
    # index on (what, ticket_id) took a write at each of its seven or so routing words' places for every new
    # ticket, a fifth of the bytes a new conversation wrote (BENCHMARKS, "Fewer pages per new conversation").
    Index("ix_trace_handoffs", "ticket_id", sqlite_where=text(f"what IN {HANDOFF_LIST}"),
          postgresql_where=text(f"what IN {HANDOFF_LIST}")),
)

# The index's condition as a query must write it: with the values inline, as SQLite uses a partial index only for a
# query whose WHERE holds the same term (a bound parameter is not known when the plan is made).
HANDED_OFF = trace.c.what.in_(bindparam("handoff_whats", HANDOFF_WHATS, literal_execute=True))

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("channel", String(40), nullable=False),
    Column("state", String(10), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime),  # a sender's claim; expires so a crashed sender's work is taken over
    Column("last_error", String(1000)),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_outbox_due", "state", "next_attempt_at"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(60), nullable=False),
    # One live job per key ("sla:first_response:42"): rescheduling replaces, never duplicates.
    Column("key", String(200), nullable=False, unique=True),
    Column("due_at", UtcDateTime, nullable=False),
    Column("payload", JSON, nullable=False, default=dict),
    Column("state", String(10), nullable=False, default="pending"),  # pending, done, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime),
    Column("last_error", String(1000)),
    Column("done_at", UtcDateTime),
    Index("ix_jobs_due", "state", "due_at"),
)

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("phone", String(40), nullable=False),  # E.164
    Column("window_start", UtcDateTime, nullable=False),
    Column("window_end", UtcDateTime, nullable=False),
    Column("tz", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # scheduled, due, claimed, done, cancelled, unreachable
    Column("attempts", Integer, nullable=False, default=0),
    Column("outcome", String(20)),
    Column("note", Text),
    Column("topic", String(500)),
    Column("lang", String(10)),
    Column("assignee_id", Integer, ForeignKey("agents.id", ondelete="SET NULL")),
    Column("slot_start", UtcDateTime, nullable=False, index=True),  # the booked slot, for capacity counts
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Set in the transaction that queues the reminder / escalates, so a re-run job does neither twice.
    Column("reminded_at", UtcDateTime),
    Column("escalated_at", UtcDateTime),
    Column("manage_hash", String(64)),  # SHA-256 of the customer's cancel/reschedule token
    Column("request_key", String(100)),  # the booking's idempotency key (a resubmitted form books once)
    Index("ix_callbacks_status_window", "status", "window_start"),
    Index("ix_callbacks_request_key", "request_key", unique=True),
    Index("ix_callbacks_slot_status", "slot_start", "status"),  # capacity counts read the index alone
    Index("ix_callbacks_customer", "customer_id", "id"),  # a customer's latest booking (its zone), merges, erasure
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

canned_replies = Table(
    "canned_replies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("language", String(10), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# What agents and customers taught the language models while working: a corrected kind, a transfer, an answer that
# did not help.  `hub nlp train` learns from these next to the shipped data (nlp.labels).
labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("text", Text, nullable=False),
    Column("language", String(10), nullable=True),
    Column("kind", String(20), nullable=True),  # the right kind, when the label is about the kind
    Column("department", String(100), nullable=True),
    Column("entry", String(100), nullable=True),  # the FAQ entry an unhelpful answer came from
    Column("source", String(40), nullable=False),  # kind_changed | transferred | not_helpful
    Column("agent_id", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# One satisfaction survey per resolution of a ticket: the request (when, on which channel, or why none was sent) and
# the customer's answer on the same row.  department, agent_id and channel are the ticket's at the resolution, so a
# later transfer does not move a score to someone else.
surveys = Table(
    "surveys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("resolved_at", UtcDateTime, nullable=False),  # the resolution asked about
    Column("channel", String(40), nullable=False),  # the ticket's channel
    Column("via", String(40)),  # the channel the survey went out on (the ticket's, or the customer's for callbacks)
    Column("department", String(100)),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="SET NULL")),
    Column("language", String(10), nullable=False),
    # scheduled, sent, answered, not_sent (reason says why), cancelled (the ticket reopened before it went out)
    Column("state", String(20), nullable=False),
    Column("reason", String(500)),
    Column("score", Integer),  # 1..5
    Column("nps", Integer),  # 0..10, when the second question is configured
    Column("comment", Text),
    # True from storing a new comment until the complaint classifier's verdict is committed (NULL: reviewed).
    Column("comment_pending", Boolean),
    Column("answers", Integer, nullable=False, default=0),  # how many times an answer was stored (a changed score)
    Column("token_hash", String(64)),  # SHA-256 of the link token (email, contact form)
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("complaint_ticket_id", Integer, ForeignKey("tickets.id", ondelete="SET NULL")),
    Column("due_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
    Column("answered_at", UtcDateTime),  # the first answer
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("ticket_id", "resolved_at", name="uq_surveys_ticket_resolution"),
    Index("ix_surveys_token_hash", "token_hash", unique=True),
    Index("ix_surveys_answered_at", "answered_at"),
    Index("ix_surveys_state_due", "state", "due_at"),  # the sweep: scheduled ones due, sent ones to expire
    Index("ix_surveys_comment_pending", "updated_at", sqlite_where=text("comment_pending"),
          postgresql_where=text("comment_pending")),
)

# A check-in with the customer: a reminder for an agent, or a prepared message sent on the customer's channel at a
# time in the customer's own zone and business hours.  Also the complaint check-in ("is it still working?") and
# the win-back follow-ups a supervisor opens.
followups = Table(
    "followups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="SET NULL")),  # who is reminded / owns it
    Column("created_by", Integer, ForeignKey("agents.id", ondelete="SET NULL")),  # null: a rule or the hub
    Column("source", String(20), nullable=False),  # agent, rule, checkin, winback
    Column("mode", String(20), nullable=False),  # reminder, message
    Column("text", Text),  # the prepared message (mode message)
    Column("language", String(10)),
    Column("tz", String(64), nullable=False),  # the zone due_at was chosen in
    Column("due_at", UtcDateTime, nullable=False),
    # scheduled, due (the reminder reached the agent), sent, answered, done, cancelled, not_sent (reason says why)
    Column("state", String(20), nullable=False),
    Column("reason", String(500)),
    Column("outcome", String(20)),  # check-ins: confirmed, reopened
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("request_key", String(100)),  # idempotency key of the request that created it
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Index("ix_followups_request_key", "request_key", unique=True),
    Index("ix_followups_state_due", "state", "due_at"),
)

# Outbound webhooks: one row per (endpoint, event), the queue the webhook sender works through and the delivery
# log admins read.  The body is stored as sent, so every retry carries the same bytes and event id.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("endpoint", String(60), nullable=False),
    Column("event", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(10), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime),
    Column("last_status", Integer),  # the receiver's last HTTP status, if it answered
    Column("last_error", String(1000)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    UniqueConstraint("endpoint", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint", "endpoint", "id"),
)

# Who did what to customer data or configuration.  Append-only: the API has no update or delete path and database
# triggers (migration 0006) refuse UPDATE and DELETE, so no foreign keys here (ON DELETE SET NULL would be an update)
# and the actor's name and role are copied, so the row stays readable when the agent is gone.  `detail` holds ids,
# field names and counts, never a customer's words, so erasing a customer leaves nothing of them here.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", Integer, nullable=True),  # None: the hub itself (the retention job)
    Column("actor_name", String(200), nullable=False),
    Column("actor_role", String(20), nullable=True),
    Column("action", String(60), nullable=False),
    Column("target_type", String(40), nullable=False),
    Column("target_id", String(100), nullable=True),
    Column("customer_id", Integer, nullable=True),  # whose data the action touched, when it touched one customer's
    Column("source", String(100), nullable=True),  # the client address (behind server.trusted_proxies, the real one)
    Column("detail", JSON, nullable=False, default=dict),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor", "actor_id", "id"),
    Index("ix_audit_log_customer", "customer_id", "id"),
    Index("ix_audit_log_action", "action", "id"),
)

# An agent named with @ in an internal note: kept until that agent has seen it, so a mention made while the agent
# was away still reaches them at their next login.
mentions = Table(
    "mentions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("note_id", Integer, ForeignKey("notes.id", ondelete="CASCADE"), nullable=False),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("author_id", Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=True),
    Index("ix_mentions_agent_seen", "agent_id", "seen_at"),
)

# Each ticket's first response and resolution times in business seconds of its department's calendar, kept for the
# Reports tab and filled by it (never on the message path).  A row is valid only while the ticket still has the
# times, department and calendar (`calendar`: a digest of the business hours) it was computed from: a reopened
# ticket, a transfer or edited business hours make it stale, and the next report computes it afresh.
report_durations = Table(
    "report_durations",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("first_response_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("department", String(100)),
    Column("calendar", String(40), nullable=False),
    Column("first_response_bs", Float),
    Column("resolution_bs", Float),
)

# One source's report rows of one UTC day, packed (hub/reports/blocks.py); SQLite triggers drop the blocks of the
# days whose rows change.
report_blocks = Table(
    "report_blocks",
    metadata,
    Column("source", String(20), primary_key=True),
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("calendar", String(40), nullable=False),
    Column("strings", Text, nullable=False),  # JSON: the text values the data's codes stand for
    Column("data", LargeBinary, nullable=False),  # one packed record per row
    Column("questions", LargeBinary, nullable=False),  # ticket blocks: the missed questions, packed
)
