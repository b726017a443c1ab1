"""Live bus events -> public webhook events (name, event id, data).  Pure functions, fed bus events in tests.

Event ids are derived from what the event is about where that is unique (a ticket's creation, a message, a
resolution at its time, a callback's outcome at its attempt), so the same fact published twice, by a retried
handler or another process, becomes one delivery per endpoint, and a receiver sees one id for it.  A
`ticket.updated` is identified by the ticket's state after the change (its JSON, `updated_at` included): the
transaction that made the change queues it with the state it committed, and the bus event that follows carries
the same state, so both name one event.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

_NS = uuid.UUID("6f1c2b8e-4a3d-5e7f-9a0b-1c2d3e4f5a6b")


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    type: str
    id: str
    data: dict[str, Any]


def _fixed(*parts: Any) -> str:
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


def _state(ticket: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ticket, sort_keys=True, default=str).encode()).hexdigest()


def from_bus(event: dict[str, Any]) -> list[WebhookEvent]:
    """The webhook events one bus event stands for (often none)."""
    kind = event.get("type")
    ticket = event.get("ticket")
    if kind == "ticket.created" and ticket:
        return [WebhookEvent("ticket.created", _fixed("ticket.created", ticket["id"]), {"ticket": ticket})]
    if kind == "ticket.updated" and ticket:
        updated_id = _fixed("ticket.updated", ticket["id"], _state(ticket))
        out = [WebhookEvent("ticket.updated", updated_id, {"ticket": ticket})]
        if ticket.get("status") == "resolved" and ticket.get("resolved_at"):
            out.append(WebhookEvent("ticket.resolved", _fixed("ticket.resolved", ticket["id"], ticket["resolved_at"]), {"ticket": ticket}))
        return out
    if kind == "message.created" and (msg := event.get("message")):
        data: dict[str, Any] = {"message": msg}
        if ticket:
            data["ticket"] = ticket
        return [WebhookEvent("message.created", _fixed("message.created", msg["id"]), data)]
    if kind == "callback.created" and (cb := event.get("callback")):
        return [WebhookEvent("callback.booked", _fixed("callback.booked", cb["id"]), {"callback": cb})]
    if kind == "callback.updated" and (cb := event.get("callback")) and cb.get("outcome"):
        return [WebhookEvent("callback.outcome", _fixed("callback.outcome", cb["id"], cb.get("attempts"), cb["outcome"]), {"callback": cb})]
    if kind == "survey.answered" and (survey := event.get("survey")):
        # The publisher's id is stable for one stored answer and new for a changed score or comment.
        key = event.get("event_id") or f"survey.answered:{survey['id']}:{survey.get('answers')}"
        data = {"survey": survey}
        if ticket:
            data["ticket"] = ticket
        return [WebhookEvent("survey.answered", _fixed(key), data)]
    if kind == "sla.breach" and ticket:
        target = event.get("target")
        data = {"ticket": ticket, "target": target, "why": event.get("why")}
        if cb := event.get("callback"):
            # A callback not made by the end of its window: one event per callback and window (a rescheduled
            # callback missed again is another), apart from the ticket's own first-response breach.
            data["callback"] = cb
            missed = _fixed("sla.breached", "callback", cb["id"], cb.get("window_end"))
            return [WebhookEvent("sla.breached", missed, data)]
        due = ticket.get(f"{target}_due")
        return [WebhookEvent("sla.breached", _fixed("sla.breached", ticket["id"], target, due), data)]
    return []
