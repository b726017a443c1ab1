"""Callback rows: the JSON shape, capacity counts, the per-slot lock, the scheduler jobs and system notices.

Everything here runs inside the caller's transaction; callers publish events only after it commits.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub import scheduler
from hub.domain import Author, Direction, Message
from hub.store import tickets as ticket_store
from hub.store.schema import agents, callbacks, identities
from hub.callbacks.values import ACTIVE, local

LOCK_NAMESPACE = 0x43424B  # first key of pg_advisory_xact_lock(int, int) for callback slots
REMIND, DUE, OVERDUE = "callback.remind", "callback.due", "callback.overdue"


def callback_json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "ticket_id": r.ticket_id,
        "customer_id": r.customer_id,
        "phone": r.phone,
        "window_start": local(r.window_start, r.tz),
        "window_end": local(r.window_end, r.tz),
        "tz": r.tz,
        "status": r.status,
        "attempts": r.attempts,
        "outcome": r.outcome,
        "note": r.note,
        "topic": r.topic,
        "lang": r.lang,
        "assignee_id": r.assignee_id,
        "slot_start": local(r.slot_start, r.tz),
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    }


async def get(conn: AsyncConnection, callback_id: int, *, for_update: bool = False) -> Any:
    q = select(callbacks).where(callbacks.c.id == callback_id)
    if for_update and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return (await conn.execute(q)).first()


async def lock_slot(conn: AsyncConnection, slot_start: datetime) -> None:
    """Serialise bookings of one slot until commit.  SQLite already runs one write transaction at a time
    (BEGIN IMMEDIATE); PostgreSQL takes a transaction-scoped advisory lock keyed by the slot's minute."""
    if conn.dialect.name == "postgresql":
        key = int(slot_start.timestamp() // 60) & 0x7FFFFFFF
        await conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": key})


async def agents_in(conn: AsyncConnection, department: str) -> int:
    # departments is a JSON list; agents are few, so filtering here beats two dialects of JSON queries.
    rows = await conn.execute(select(agents.c.departments).where(agents.c.active.is_(True)))
    return sum(1 for r in rows if department in (r.departments or ()))


async def booked(conn: AsyncConnection, start: datetime, end: datetime) -> dict[datetime, int]:
    """Active callbacks per slot start in [start, end)."""
    # Grouped by status too and filtered here: with only a range on slot_start, SQLite reads the covering
    # (slot_start, status) index; a status IN (...) makes it pick the status index and scan every due row.
    rows = await conn.execute(
        select(callbacks.c.slot_start, callbacks.c.status, func.count())
        .where(and_(callbacks.c.slot_start >= start, callbacks.c.slot_start < end))
        .group_by(callbacks.c.slot_start, callbacks.c.status)
    )
    out: dict[datetime, int] = {}
    for slot_start, status, n in rows:
        if status in ACTIVE:
            out[slot_start] = out.get(slot_start, 0) + n
    return out


async def booked_in(conn: AsyncConnection, slot_start: datetime) -> int:
    return (
        await conn.execute(
            select(func.count()).select_from(callbacks).where(
                and_(callbacks.c.slot_start == slot_start, callbacks.c.status.in_(ACTIVE))
            )
        )
    ).scalar_one()


async def active_for(conn: AsyncConnection, *, phone: str | None = None, channel: str | None = None,
                     external_id: str | None = None) -> int:
    """Callbacks still holding a place, booked for a phone number or by the customer behind an identity."""
    if phone is not None:
        where = callbacks.c.phone == phone
    else:
        owner = select(identities.c.customer_id).where(
            and_(identities.c.channel == channel, identities.c.external_id == external_id, identities.c.verified)
        ).scalar_subquery()
        where = callbacks.c.customer_id == owner
    return (
        await conn.execute(select(func.count()).select_from(callbacks).where(and_(where, callbacks.c.status.in_(ACTIVE))))
    ).scalar_one()


def job_key(callback_id: int, what: str) -> str:
    return f"callback:{callback_id}:{what}"


async def schedule_jobs(
    conn: AsyncConnection, callback_id: int, window_start: datetime, window_end: datetime, now: datetime,
    remind_at: datetime | None,
) -> None:
    payload = {"callback_id": callback_id}
    if remind_at is not None and remind_at > now:
        await scheduler.schedule(conn, REMIND, job_key(callback_id, "remind"), remind_at, payload)
    else:
        await scheduler.cancel(conn, job_key(callback_id, "remind"))
    await scheduler.schedule(conn, DUE, job_key(callback_id, "due"), window_start, payload)
    await scheduler.schedule(conn, OVERDUE, job_key(callback_id, "overdue"), window_end, payload)


async def cancel_jobs(conn: AsyncConnection, callback_id: int) -> None:
    await scheduler.cancel_prefix(conn, f"callback:{callback_id}:")


async def others_active(conn: AsyncConnection, ticket_id: int, callback_id: int) -> int:
    """Other callbacks of the same ticket still to be made: the ticket stays open while any remain."""
    return (
        await conn.execute(
            select(func.count()).select_from(callbacks).where(
                and_(callbacks.c.ticket_id == ticket_id, callbacks.c.id != callback_id, callbacks.c.status.in_(ACTIVE))
            )
        )
    ).scalar_one()


async def notice(conn: AsyncConnection, ticket_id: int, text_: str, now: datetime, writable: set[str]) -> tuple[Message, int] | None:
    """Queue a system message to the customer in the caller's transaction, so the state change that warrants it
    and the message commit together (a re-run job never sends it twice).  None when the ticket's channel has no
    written address (a phone-only request) or the ticket is closed."""
    t = await ticket_store.get_ticket(conn, ticket_id)
    if t.channel not in writable or t.status.value == "closed":
        return None
    msg = await ticket_store.insert_message(
        conn, ticket_id=ticket_id, direction=Direction.OUT, author=Author.SYSTEM, text=text_, channel=t.channel,
        at=now, automatic=True, delivery="pending", meta={"callback": True},
    )
    oid = await ticket_store.enqueue_outbound(conn, msg.id, t.channel, now)
    return msg, oid
