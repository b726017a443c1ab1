"""Win-back: customers who went quiet after a bad experience (an unresolved complaint, a low survey score) and
have had no contact for N days.  A supervisor opens a follow-up for each one: never a bulk blast, and the
messages go out under the per-channel hourly limit of hub.surveys.followups."""
from __future__ import annotations

from datetime import timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select

from hub.domain import Agent
from hub.errors import ConflictError
from hub.serialize import iso
from hub.store.schema import customers, followups, messages, surveys, tickets

if TYPE_CHECKING:
    from hub.services import Hub

OPEN = ("bot", "queued", "assigned", "pending")


async def candidates(hub: Hub, days: int, *, customer_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    now = hub.clock.now()
    cutoff = now - timedelta(days=days)
    low = hub.config.surveys.low_score
    unresolved = and_(tickets.c.kind == "complaint",
                      or_(tickets.c.status.in_(OPEN), and_(tickets.c.status == "closed", tickets.c.resolved_at.is_(None))))
    q_complaints = select(tickets.c.customer_id, tickets.c.id.label("ticket_id"), tickets.c.channel).where(unresolved)
    q_low = select(surveys.c.customer_id, surveys.c.ticket_id, surveys.c.channel, surveys.c.score).where(surveys.c.score <= low)
    if customer_id is not None:
        q_complaints = q_complaints.where(tickets.c.customer_id == customer_id)
        q_low = q_low.where(surveys.c.customer_id == customer_id)
    async with hub.db.read() as conn:
        found: dict[int, dict[str, Any]] = {}
        for r in (await conn.execute(q_complaints.order_by(tickets.c.id.desc()).limit(5000))).all():
            found.setdefault(r.customer_id, {"customer_id": r.customer_id, "ticket_id": r.ticket_id, "channel": r.channel,
                                             "reason": "unresolved complaint"})
        for r in (await conn.execute(q_low.order_by(surveys.c.id.desc()).limit(5000))).all():
            found.setdefault(r.customer_id, {"customer_id": r.customer_id, "ticket_id": r.ticket_id, "channel": r.channel,
                                             "reason": f"low survey score ({r.score}/5)"})
        if not found:
            return []
        ids = list(found)
        last = dict(
            (await conn.execute(
                select(tickets.c.customer_id, func.max(messages.c.created_at))
                .select_from(tickets.join(messages, messages.c.ticket_id == tickets.c.id))
                .where(tickets.c.customer_id.in_(ids)).group_by(tickets.c.customer_id)
            )).all()
        )
        live = set(
            (await conn.execute(
                select(followups.c.customer_id).where(and_(followups.c.customer_id.in_(ids), followups.c.source == "winback",
                                                           followups.c.state.in_(("scheduled", "due", "sent"))))
            )).scalars().all()
        )
        names = dict((await conn.execute(select(customers.c.id, customers.c.name).where(customers.c.id.in_(ids)))).all())
        # An erased customer is nobody to win back: their record is an anonymous shell with no address.  One who
        # unsubscribed from follow-ups (hub.surveys.optout) asked not to be written to.
        erased = set((await conn.execute(select(customers.c.id).where(and_(
            customers.c.id.in_(ids), or_(customers.c.erased_at.is_not(None), customers.c.unsubscribed_at.is_not(None))))
        )).scalars().all())
    out = []
    for cid, item in found.items():
        at = last.get(cid)
        if at is not None and at.tzinfo is None:  # an aggregate may come back without the column's type
            at = at.replace(tzinfo=timezone.utc)
        if at is None or at > cutoff or cid in live or cid in erased:
            continue
        out.append({**item, "name": names.get(cid), "last_contact_at": iso(at), "days_quiet": (now - at).days})
    out.sort(key=lambda i: i["last_contact_at"] or "")
    return out[:limit]


async def open_followup(hub: Hub, agent: Agent, customer_id: int, days: int, mode: str, text: str | None) -> dict[str, Any]:
    """One follow-up for one customer on the win-back list (409 when they are not on it, or already have one)."""
    items = await candidates(hub, days, customer_id=customer_id)
    if not items:
        raise ConflictError(f"customer {customer_id} is not on the win-back list for {days} days (or already has a follow-up)")
    item = items[0]
    return await hub.surveys.followups.schedule(
        item["ticket_id"], mode=mode, source="winback", agent=agent, text=text,
        request_key=f"winback:{customer_id}:{item['ticket_id']}:{hub.clock.now().date().isoformat()}",
    )
