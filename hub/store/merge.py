"""Linking customer records by hand: a supervisor merges a record into another (the same person wrote from a form
and from a chat, or gave an address in one channel that they proved in another).

Everything of the merged record moves to the kept one (identities, unverified addresses, tickets, callbacks), its
empty profile fields fill the kept one's, and the merged record is deleted.  Conversations stay apart: each ticket
keeps the identity it was written from, so replies still go where the customer wrote, and a chat token still sees
only its own chat.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.schema import callbacks, customers, identities, tickets


class MergeError(Exception):
    def __init__(self, detail: str, field: str | None = None, *, missing: bool = False) -> None:
        super().__init__(detail)
        self.detail, self.field, self.missing = detail, field, missing


@dataclass(frozen=True, slots=True)
class Merged:
    source_id: int
    target_id: int
    tickets: tuple[int, ...]  # the tickets that moved


async def _lock(conn: AsyncConnection, *ids: int) -> dict[int, Any]:
    """Both customer rows, locked in id order (PostgreSQL) so two merges or a message cannot interleave."""
    q = select(customers).where(customers.c.id.in_(sorted(ids))).order_by(customers.c.id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return {r.id: r for r in (await conn.execute(q)).all()}


async def merge_customers(conn: AsyncConnection, source_id: int, target_id: int) -> Merged:
    if source_id == target_id:
        raise MergeError("a customer cannot be merged into itself", field="customer_id")
    rows = await _lock(conn, source_id, target_id)
    if source_id not in rows:
        raise MergeError(f"customer {source_id} does not exist", missing=True)
    if target_id not in rows:
        raise MergeError(f"customer {target_id} does not exist", field="customer_id", missing=True)
    src, dst = rows[source_id], rows[target_id]

    # Identities: a verified one is unique, so it simply moves.  An address the kept record already holds is not
    # held twice: the merged record's row goes (its tickets point at the kept row instead), and an unverified row of
    # the kept record gives way to a verified one of the merged record.
    mine = {(r.channel, r.external_id): r for r in (await conn.execute(select(identities).where(identities.c.customer_id == target_id))).all()}
    theirs = (await conn.execute(select(identities).where(identities.c.customer_id == source_id))).all()
    for r in theirs:
        kept = mine.get((r.channel, r.external_id))
        if kept is None:
            await conn.execute(update(identities).where(identities.c.id == r.id).values(customer_id=target_id))
            continue
        keep, drop = (r, kept) if r.verified and not kept.verified else (kept, r)
        await conn.execute(update(tickets).where(tickets.c.identity_id == drop.id).values(identity_id=keep.id))
        await conn.execute(delete(identities).where(identities.c.id == drop.id))
        if keep.id == r.id:
            await conn.execute(update(identities).where(identities.c.id == r.id).values(customer_id=target_id))

    moved = tuple((await conn.execute(select(tickets.c.id).where(tickets.c.customer_id == source_id).order_by(tickets.c.id))).scalars())
    await conn.execute(update(tickets).where(tickets.c.customer_id == source_id).values(customer_id=target_id))
    await conn.execute(update(callbacks).where(callbacks.c.customer_id == source_id).values(customer_id=target_id))

    fill: dict[str, Any] = {}
    for col in ("name", "language", "account_manager_id"):
        if getattr(dst, col) is None and getattr(src, col) is not None:
            fill[col] = getattr(src, col)
    if dst.tier == "standard" and src.tier != "standard":
        fill["tier"] = src.tier
    tags = list(dst.tags or ())
    extra = [t for t in (src.tags or ()) if t not in tags]
    if extra:
        fill["tags"] = (tags + extra)[:50]
    if fill:
        await conn.execute(update(customers).where(customers.c.id == target_id).values(**fill))
    await conn.execute(delete(customers).where(customers.c.id == source_id))
    return Merged(source_id, target_id, moved)
