"""Domain values -> the JSON shapes of the public contract (field names fixed by ARCHITECTURE.md)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from hub.domain import Agent, Message, Ticket


_UTC = timezone.utc
# Recent UTC times and their text.  An event carries a ticket's times, and a new conversation's three events (opened,
# raised to a complaint, escalated) carry the same few: `isoformat` formats through C's printf, and was a tenth of the
# hub's instructions for a new conversation.  Equal UTC times have the same text, so the cache is keyed by value.
_TEXT: dict[datetime, str] = {}
_KEEP = 4096


def iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    if at.tzinfo is not _UTC:
        return at.isoformat()
    text = _TEXT.get(at)
    if text is None:
        if len(_TEXT) >= _KEEP:
            _TEXT.clear()
        text = _TEXT[at] = at.isoformat()
    return text


def ticket_json(t: Ticket, **extra: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "status": t.status.value,
        "priority": t.priority,
        "department": t.department,
        "kind": t.kind,
        "channel": t.channel,
        "language": t.language,
        "customer_id": t.customer_id,
        "assignee_id": t.assignee_id,
        "subject": t.subject,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "first_response_due": iso(t.first_response_due),
        "resolution_due": iso(t.resolution_due),
        "first_response_at": iso(t.first_response_at),
        "resolved_at": iso(t.resolved_at),
        **extra,
    }


def message_json(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "ticket_id": m.ticket_id,
        "direction": m.direction.value,
        "author": m.author.value,
        "text": m.text,
        "html": m.html,  # the original HTML body (email), as data: never rendered by the hub
        "channel": m.channel,
        "created_at": iso(m.created_at),
        "delivery": m.delivery.value if m.delivery else None,
        "delivery_error": m.delivery_error,
        "attachments": [asdict(a) for a in m.attachments],
        "agent_id": m.agent_id,
        "edited_at": iso(m.edited_at),
    }


def agent_json(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "email": a.email,
        "role": a.role.value,
        "departments": list(a.departments),
        "capacity": a.capacity,
        "active": a.active,
    }
