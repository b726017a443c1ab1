"""Removing personal data from the store while keeping what the reports count.

`anonymise_tickets` empties a set of tickets (message texts, HTML, attachments, provider ids, raw sources, edits,
notes, routing reasons, survey comments, follow-up texts) and keeps their rows, statuses, departments, kinds,
languages, authors, delivery states and every time, so counts, response and resolution times, SLA breaches and
CSAT scores survive.  `erase_customer` does that to every ticket of a customer and then forgets the customer:
identities are deleted (the same person writing again is a new, unknown customer), the profile becomes an anonymous
shell, callbacks lose their phone and notes, and deliveries still waiting in the outbox are cancelled.

Both run inside the caller's transaction and are idempotent.  May import hub.store and hub.scheduler only.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, null, select, update

from hub import scheduler
from hub.store.schema import (
    callbacks,
    customers,
    followups,
    identities,
    labels,
    messages,
    notes,
    outbox,
    surveys,
    tickets,
    trace,
    webhook_deliveries,
)

CANCELLED_DELIVERY = "not sent: the customer's data was erased"
ACTIVE_CALLBACKS = ("scheduled", "due", "claimed")
OPEN_FOLLOWUPS = ("scheduled", "due")
# Ids are bound in chunks: SQLite limits the variables of one statement, and PostgreSQL plans huge IN lists slowly.
CHUNK = 500


@dataclass
class Counts:
    """What one run changed, for the answer to the admin and the audit entry (numbers only)."""

    tickets: int = 0
    messages: int = 0
    notes: int = 0
    surveys: int = 0
    followups: int = 0
    labels: int = 0
    outbox_cancelled: int = 0
    callbacks: int = 0
    identities: int = 0
    mails_removed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "extra"}
        out.update(self.extra)
        return out


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


async def anonymise_tickets(conn: Any, ticket_ids: Sequence[int], now: datetime, counts: Counts | None = None) -> Counts:
    counts = counts or Counts()
    for ids in _chunks(list(ticket_ids)):
        in_tickets = messages.c.ticket_id.in_(ids)
        # Deliveries not yet made: a reply must not go out to someone whose data is gone (nor with an empty text).
        waiting = select(outbox.c.message_id).where(and_(outbox.c.state == "pending", outbox.c.message_id.in_(
            select(messages.c.id).where(in_tickets))))
        waiting_ids = [r[0] for r in (await conn.execute(waiting)).all()]
        if waiting_ids:
            counts.outbox_cancelled += (await conn.execute(
                update(outbox).where(and_(outbox.c.message_id.in_(waiting_ids), outbox.c.state == "pending"))
                .values(state="cancelled", locked_until=None, last_error=CANCELLED_DELIVERY))).rowcount
            await conn.execute(update(messages).where(messages.c.id.in_(waiting_ids))
                               .values(delivery="failed", delivery_error=CANCELLED_DELIVERY))
        counts.messages += (await conn.execute(
            update(messages).where(in_tickets).values(
                text="", html=None, provider_id=None, attachments=[], edits=[], meta={}, raw=null(), review_pending=None,
                # A delivery error may quote the address it failed on; the cancellation notice stays.
                delivery_error=case((messages.c.delivery_error == CANCELLED_DELIVERY, CANCELLED_DELIVERY), else_=None),
            ))).rowcount
        counts.notes += (await conn.execute(update(notes).where(notes.c.ticket_id.in_(ids)).values(text=""))).rowcount
        # Routing reasons may quote the words that matched; what was decided (the `what`) stays.
        await conn.execute(update(trace).where(trace.c.ticket_id.in_(ids)).values(why=""))
        # Corrections agents made are training examples in the customer's own words.
        counts.labels += (await conn.execute(delete(labels).where(labels.c.ticket_id.in_(ids)))).rowcount
        counts.surveys += (await conn.execute(
            update(surveys).where(surveys.c.ticket_id.in_(ids)).values(comment=None, comment_pending=None, token_hash=None))).rowcount
        await conn.execute(update(surveys).where(and_(surveys.c.ticket_id.in_(ids), surveys.c.state == "scheduled"))
                           .values(state="cancelled", reason="the customer's data was erased", updated_at=now))
        counts.followups += (await conn.execute(
            update(followups).where(followups.c.ticket_id.in_(ids)).values(text=None))).rowcount
        await conn.execute(update(followups).where(and_(followups.c.ticket_id.in_(ids), followups.c.state.in_(OPEN_FOLLOWUPS)))
                           .values(state="cancelled", reason="the customer's data was erased", updated_at=now))
        counts.tickets += (await conn.execute(
            update(tickets).where(tickets.c.id.in_(ids)).values(
                subject=None, tags=[], bot_state={}, anonymised_at=func.coalesce(tickets.c.anonymised_at, now),
            ))).rowcount
    return counts


async def erase_customer(conn: Any, customer_id: int, now: datetime, *, webhooks: bool = True) -> Counts | None:
    """Erase one customer (None when there is no such customer)."""
    if (await conn.execute(select(customers.c.id).where(customers.c.id == customer_id))).first() is None:
        return None
    tids = [r[0] for r in (await conn.execute(select(tickets.c.id).where(tickets.c.customer_id == customer_id))).all()]
    counts = await anonymise_tickets(conn, tids, now)
    cb_ids = [r[0] for r in (await conn.execute(select(callbacks.c.id).where(callbacks.c.customer_id == customer_id))).all()]
    for cid in cb_ids:
        await scheduler.cancel_prefix(conn, f"callback:{cid}:")
    await conn.execute(update(callbacks).where(and_(callbacks.c.customer_id == customer_id,
                                                    callbacks.c.status.in_(ACTIVE_CALLBACKS)))
                       .values(status="cancelled", updated_at=now))
    counts.callbacks = (await conn.execute(
        update(callbacks).where(callbacks.c.customer_id == customer_id).values(
            phone="", note=None, topic=None, manage_hash=None, request_key=None))).rowcount
    # Surveys and follow-ups name the customer too (and may sit on a ticket of someone else after a merge).
    await conn.execute(update(surveys).where(surveys.c.customer_id == customer_id).values(comment=None, comment_pending=None, token_hash=None))
    await conn.execute(update(followups).where(followups.c.customer_id == customer_id).values(text=None))
    await conn.execute(update(followups).where(and_(followups.c.customer_id == customer_id,
                                                    followups.c.state.in_(OPEN_FOLLOWUPS)))
                       .values(state="cancelled", reason="the customer's data was erased", updated_at=now))
    if webhooks:
        counts.extra["webhooks"] = await scrub_webhooks(conn, tids, customer_id)
    counts.identities = (await conn.execute(delete(identities).where(identities.c.customer_id == customer_id))).rowcount
    await conn.execute(update(customers).where(customers.c.id == customer_id).values(
        name=None, tags=[], tier="standard", tz=None, account_manager_id=None,
        erased_at=func.coalesce(customers.c.erased_at, now)))
    return counts


def _mentions(node: Any, tickets_: set[int], customer_id: int | None, depth: int = 0) -> bool:
    """Does a webhook payload speak of one of these tickets or of this customer?"""
    if depth > 6:
        return False
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ticket_id" and value in tickets_ or key == "customer_id" and customer_id is not None and value == customer_id:
                return True
            if key == "ticket" and isinstance(value, dict) and value.get("id") in tickets_:
                return True
            if isinstance(value, (dict, list)) and _mentions(value, tickets_, customer_id, depth + 1):
                return True
    elif isinstance(node, list):
        return any(_mentions(v, tickets_, customer_id, depth + 1) for v in node)
    return False


async def scrub_webhooks(conn: Any, ticket_ids: Sequence[int], customer_id: int | None = None, *, page: int = 500) -> int:
    """Webhook bodies kept for retries and the delivery log carry message texts and names: those about these tickets
    (or this customer) lose their data, and the ones not yet delivered are cancelled."""
    wanted, scrubbed, after = set(ticket_ids), 0, 0
    if not wanted and customer_id is None:
        return 0
    while True:
        rows = (await conn.execute(select(webhook_deliveries.c.id, webhook_deliveries.c.body)
                                   .where(webhook_deliveries.c.id > after).order_by(webhook_deliveries.c.id).limit(page))).all()
        if not rows:
            return scrubbed
        after = rows[-1].id
        for r in rows:
            try:
                doc = json.loads(r.body)
            except ValueError:
                continue
            if not isinstance(doc, dict) or doc.get("data") == {"erased": True} or not _mentions(doc.get("data"), wanted, customer_id):
                continue
            doc["data"] = {"erased": True}
            await conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == r.id).values(
                body=json.dumps(doc, separators=(",", ":")), last_error=None))
            await conn.execute(update(webhook_deliveries).where(and_(webhook_deliveries.c.id == r.id,
                                                                     webhook_deliveries.c.state == "pending"))
                               .values(state="cancelled", locked_until=None))
            scrubbed += 1


async def mail_references(conn: Any, customer_id: int) -> tuple[list[str], list[str]]:
    """(Message-IDs of the customer's stored mails, the customer's email addresses): what a mail server holds of
    them.  Read before erasing, since erasing removes both."""
    mids = [r[0] for r in (await conn.execute(
        select(messages.c.provider_id).join(tickets, tickets.c.id == messages.c.ticket_id)
        .where(and_(tickets.c.customer_id == customer_id, messages.c.channel == "email", messages.c.direction == "in",
                    messages.c.provider_id.is_not(None))))).all()]
    addresses = [r[0] for r in (await conn.execute(
        select(identities.c.external_id).where(and_(identities.c.customer_id == customer_id,
                                                    identities.c.channel == "email")))).all()]
    return mids, sorted(set(addresses))
