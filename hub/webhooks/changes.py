"""Webhook deliveries written in the transaction of the change they report (a transactional outbox).

`Database.write` hands this module the facts a transaction noted (hub.store.facts): every stored message and every
ticket resolved.  Their `message.created` and `ticket.resolved` rows are inserted just before that transaction
commits, with the ticket as it is at the commit, so a process that dies right after the commit has already queued
them and the sweeper of the next process to start sends them.  The event ids are those the bus mapping gives the
same facts (hub.webhooks.events), so the bus event published after the commit adds no second row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub.domain import Status, Ticket
from hub.serialize import message_json, ticket_json
from hub.store import records
from hub.store import tickets as ticket_store
from hub.store.facts import Fact
from hub.store.schema import messages
from hub.webhooks import store
from hub.webhooks.config import WebhooksConfig
from hub.webhooks.events import WebhookEvent, from_bus


async def queue(conn: Any, noted: list[Fact], config: WebhooksConfig, now: datetime) -> int:
    """Insert the delivery rows for `noted` in the caller's transaction; returns how many were queued."""
    wanted = {ev: [e.name for e in config.endpoints if e.wants(ev)] for ev in ("message.created", "ticket.resolved")}
    found: dict[int, Ticket] = {}

    async def ticket(tid: int) -> Ticket:
        if tid not in found:
            found[tid] = await ticket_store.get_ticket(conn, tid)
        return found[tid]

    events: list[WebhookEvent] = []
    for kind, ident in dict.fromkeys(noted):
        if kind == "message" and wanted["message.created"]:
            row = (await conn.execute(select(messages).where(messages.c.id == ident))).first()
            if row is None:
                continue  # rolled back to a savepoint within the transaction
            m = records.message(row)
            t = await ticket(m.ticket_id)
            events += from_bus({"type": "message.created", "message": message_json(m), "ticket": ticket_json(t)})
        elif kind == "resolved" and wanted["ticket.resolved"]:
            t = await ticket(ident)
            if t.status is Status.RESOLVED:
                events += [e for e in from_bus({"type": "ticket.updated", "ticket": ticket_json(t)}) if e.type == "ticket.resolved"]
    n = 0
    for ev in events:
        n += len(await store.enqueue(conn, wanted[ev.type], ev, now))
    return n
