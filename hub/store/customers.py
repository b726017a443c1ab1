"""Customers and their identities: one person, many (channel, external id) addresses."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import Identity
from hub.store.schema import customers, identities


async def find_identity(conn: AsyncConnection, ident: Identity) -> Any:
    return (
        await conn.execute(
            select(identities.c.id, identities.c.customer_id).where(
                and_(identities.c.channel == ident.channel, identities.c.external_id == ident.external_id)
            )
        )
    ).first()


async def resolve(
    conn: AsyncConnection,
    ident: Identity,
    at: datetime,
    *,
    name: str | None = None,
    language: str | None = None,
    display: str | None = None,
) -> tuple[int, int]:
    """(customer_id, identity_id) for an identity, creating the customer on first contact.  A known customer's
    empty name and language are filled from what the channel tells (Telegram's profile, an email's From name)."""
    row = await find_identity(conn, ident)
    if row is not None:
        if name or language:
            cur = (await conn.execute(select(customers.c.name, customers.c.language).where(customers.c.id == row.customer_id))).one()
            fill = {}
            if name and not cur.name:
                fill["name"] = name[:300]
            if language and not cur.language:
                fill["language"] = language[:10]
            if fill:
                await conn.execute(update(customers).where(customers.c.id == row.customer_id).values(**fill))
        return row.customer_id, row.id
    cid = (
        await conn.execute(
            insert(customers)
            .values(name=(name or None) and name[:300], language=language and language[:10], tier="standard", tags=[], created_at=at)
            .returning(customers.c.id)
        )
    ).scalar_one()
    iid = await add_identity(conn, cid, ident, at, display=display)
    owner = (await conn.execute(select(identities.c.customer_id).where(identities.c.id == iid))).scalar_one()
    if owner != cid:  # another process created this customer first: use theirs, drop ours
        await conn.execute(delete(customers).where(customers.c.id == cid))
        cid = owner
    return cid, iid


async def lock_customer(conn: AsyncConnection, customer_id: int) -> None:
    """Serialise a customer's concurrent messages (PostgreSQL), so two of them never open two tickets.
    SQLite needs nothing: its writers are already serialised."""
    if conn.dialect.name != "sqlite":
        await conn.execute(select(customers.c.id).where(customers.c.id == customer_id).with_for_update())


async def add_identity(
    conn: AsyncConnection, customer_id: int, ident: Identity, at: datetime, *, display: str | None = None
) -> int:
    """Attach an identity to a customer; when another customer already has it, that one keeps it (merging
    customers is an agent's decision, not an automatic one)."""
    existing = await find_identity(conn, ident)
    if existing is not None:
        return existing.id
    try:
        async with conn.begin_nested():
            return (
                await conn.execute(
                    insert(identities)
                    .values(
                        customer_id=customer_id,
                        channel=ident.channel,
                        external_id=ident.external_id,
                        display=display,
                        created_at=at,
                    )
                    .returning(identities.c.id)
                )
            ).scalar_one()
    except IntegrityError:  # a concurrent first contact from the same address (another process)
        row = await find_identity(conn, ident)
        assert row is not None
        return row.id


async def mark_unreachable(conn: AsyncConnection, ident: Identity, reason: str | None) -> None:
    await conn.execute(
        update(identities)
        .where(and_(identities.c.channel == ident.channel, identities.c.external_id == ident.external_id))
        .values(unreachable=reason and reason[:500])
    )
