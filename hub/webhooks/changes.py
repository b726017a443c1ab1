"""Webhook deliveries written in the transaction of the change they report (a transactional outbox).

`Database.write` hands this module the facts a transaction noted (hub.store.facts): stored messages, resolutions,
ticket changes, callbacks booked or updated, SLA breaches.  Their rows are inserted just before that transaction
commits, with the ticket and callback as they are at the commit, so a process that dies right after the commit has
already queued them and the sweeper of the next process to start sends them.  The event ids are those the bus
mapping gives the same facts (hub.webhooks.events), so the bus event published after the commit finds the rows to
send at once, and a fact noted twice (a job re-run after a crash) adds no second row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub.callbacks import store as callback_store
from hub.domain import Status, Ticket
from hub.serialize import message_json, ticket_json
from hub.store import records
from hub.store import tickets as ticket_store
from hub.store.facts import Fact
from hub.store.schema import messages
from hub.webhooks import store
from hub.webhooks.config import EVENTS, WebhooksConfig
from hub.webhooks.events import WebhookEvent, from_bus


async def queue(conn: Any, noted: list[Fact], config: WebhooksConfig, now: datetime) -> int:
    """Insert the delivery rows for `noted` in the caller's transaction; returns how many were queued."""
    wanted = {ev: [e.name for e in config.endpoints if e.wants(ev)] for ev in EVENTS}
    found: dict[int, Ticket] = {}

    async def ticket(tid: int) -> dict[str, Any]:
        if tid not in found:
            found[tid] = await ticket_store.get_ticket(conn, tid)
        return ticket_json(found[tid])

    events: list[WebhookEvent] = []
    for kind, ident, details in dict.fromkeys(noted):
        if kind == "message" and wanted["message.created"]:
            row = (await conn.execute(select(messages).where(messages.c.id == ident))).first()
            if row is None:
                continue  # rolled back to a savepoint within the transaction
            m = records.message(row)
            t = await ticket(m.ticket_id)
            events += from_bus({"type": "message.created", "message": message_json(m), "ticket": t})
        elif kind in ("resolved", "updated") and wanted[f"ticket.{kind}"]:
            t = await ticket(ident)
            if kind == "resolved" and t["status"] != Status.RESOLVED.value:
                continue  # reopened later in the same transaction
            events += [e for e in from_bus({"type": "ticket.updated", "ticket": t}) if e.type == f"ticket.{kind}"]
        elif kind.startswith("callback.") and (wanted["callback.booked"] or wanted["callback.outcome"]):
            cb = await callback_store.get(conn, ident)
            if cb is not None:
                bus_type = "callback.created" if kind == "callback.booked" else "callback.updated"
                events += from_bus({"type": bus_type, "callback": callback_store.callback_json(cb)})
        elif kind == "callback.missed" and wanted["sla.breached"]:
            cb = await callback_store.get(conn, ident)
            if cb is not None:
                (why,) = details
                events += from_bus({"type": "sla.breach", "ticket": await ticket(cb.ticket_id), "why": why,
                                    "target": "first_response", "callback": callback_store.callback_json(cb)})
        elif kind == "breach" and wanted["sla.breached"]:
            target, why = details
            events += from_bus({"type": "sla.breach", "ticket": await ticket(ident), "target": target, "why": why})
    n = 0
    for ev in events:
        n += len(await store.enqueue(conn, wanted[ev.type], ev, now))
    return n
