"""Learning from the desk: what agents and customers say about the language models' decisions, kept as labels.

- An agent changing a ticket's kind (`POST /api/tickets/{id}/kind`) says what the customer's words really were.
- An agent transferring a ticket to another department says where such words belong.
- A customer answering "no, that did not help" says the FAQ entry was the wrong one for that question.

Each becomes a row of `labels` with the customer's text at the time, and `hub nlp train` (hub.cli, nlp.train)
retrains from the shipped data plus these rows.  Labels are written in the same transaction as the change they
describe, so an undone change never leaves a label behind.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select

from hub.domain import Agent, Direction, Kind, Ticket
from hub.errors import ConflictError, Invalid, NotFoundError
from hub.store import tickets as store
from hub.store.schema import labels, messages, tickets

__all__ = ["customer_text", "record", "set_kind", "load_labels"]

TEXT_LIMIT = 2000
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


async def customer_text(conn: Any, ticket_id: int, first: int = 3) -> str:
    """The customer's opening words on a ticket: what a classifier sees when the ticket arrives."""
    rows = await conn.execute(
        select(messages.c.text)
        .where(and_(messages.c.ticket_id == ticket_id, messages.c.direction == Direction.IN.value))
        .order_by(messages.c.id)
        .limit(first)
    )
    return "\n".join(r.text for r in rows if r.text)[:TEXT_LIMIT]


async def record(conn: Any, *, ticket_id: int | None, source: str, now: datetime, text: str | None = None,
                 language: str | None = None, kind: str | None = None, department: str | None = None,
                 entry: str | None = None, agent_id: int | None = None) -> None:
    if text is None and ticket_id is not None:
        text = await customer_text(conn, ticket_id)
    if not text or not text.strip():
        return
    await conn.execute(insert(labels).values(
        ticket_id=ticket_id, text=text[:TEXT_LIMIT], language=language, kind=kind, department=department,
        entry=entry, source=source, agent_id=agent_id, created_at=now,
    ))


async def set_kind(hub: Any, ticket_id: int, agent: Agent, kind: str) -> Ticket:
    """An agent corrects the kind: the ticket follows (a complaint gets the complaint priority) and a label is kept."""
    try:
        wanted = Kind(kind)
    except ValueError:
        raise Invalid(f"kind must be one of {', '.join(k.value for k in Kind)}", field="kind") from None
    now = hub.clock.now()
    async with hub.db.write() as conn:
        try:
            t = await store.get_ticket(conn, ticket_id)
        except store.NotFound:
            raise NotFoundError(f"ticket {ticket_id} does not exist") from None
        hub.actions._may_touch(agent, t)
        if t.kind == wanted.value:
            return t
        values: dict[str, Any] = {"kind": wanted.value}
        why = f"{wanted.value}: set by {agent.name} (was {t.kind})"
        if wanted is Kind.COMPLAINT:
            target = str((hub.config.routing.get("complaint") or {}).get("priority", "high"))
            if PRIORITY_RANK.get(target, 1) > PRIORITY_RANK.get(t.priority, 1):
                values["priority"] = target
                why += f"; priority {target}"
        res = await store.update_ticket(conn, ticket_id, {"updated_at": now, **values}, guard="kind", kind=t.kind,
                                        returning=False)
        if res.rowcount != 1:
            # Changed meanwhile, typically by the review raising it to a complaint: what the agent asked for may be
            # what it is now (the agent's word is kept as a label all the same).
            now_kind = (await conn.execute(select(tickets.c.kind).where(tickets.c.id == ticket_id))).scalar()
            if now_kind != wanted.value:
                raise ConflictError(f"ticket {ticket_id} changed meanwhile; try again")
            await record(conn, ticket_id=ticket_id, source="kind_changed", now=now, language=t.language,
                         kind=wanted.value, agent_id=agent.id)
            return await store.get_ticket(conn, ticket_id)
        await store.add_trace(conn, ticket_id, now, "kind", why)
        await record(conn, ticket_id=ticket_id, source="kind_changed", now=now, language=t.language,
                     kind=wanted.value, agent_id=agent.id)
    return await hub.actions._updated(ticket_id)


async def load_labels(conn: Any) -> list[dict[str, Any]]:
    rows = await conn.execute(select(labels).order_by(labels.c.id))
    return [dict(r._mapping) for r in rows]
