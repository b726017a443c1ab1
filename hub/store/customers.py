"""Customers and their identities: one person, many (channel, external id) addresses."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import Identity
from hub.store.schema import customers, identities

# Built once, executed with parameters (compiled a single time).
_INSERT_CUSTOMER = insert(customers).returning(customers.c.id)
_INSERT_IDENTITY_PG = pg_insert(identities).on_conflict_do_nothing(index_elements=["channel", "external_id"]).returning(identities.c.id)
_INSERT_IDENTITY_SQLITE = sqlite_insert(identities).on_conflict_do_nothing(index_elements=["channel", "external_id"]).returning(identities.c.id)


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
    params = dict(name=(name or None) and name[:300], language=language and language[:10], tier="standard", tags=[], created_at=at)
    cid = (await conn.execute(_INSERT_CUSTOMER, params)).scalar_one()
    iid = await _insert_identity(conn, cid, ident, at, display)
    if iid is None:  # another process created this customer a moment ago: use theirs, drop ours
        await conn.execute(delete(customers).where(customers.c.id == cid))
        row = await find_identity(conn, ident)
        assert row is not None
        return row.customer_id, row.id
    return cid, iid


async def _insert_identity(conn: AsyncConnection, customer_id: int, ident: Identity, at: datetime, display: str | None) -> int | None:
    """Insert unless (channel, external id) exists; None when it does.  ON CONFLICT keeps the transaction usable
    on PostgreSQL without a savepoint."""
    stmt = _INSERT_IDENTITY_PG if conn.dialect.name == "postgresql" else _INSERT_IDENTITY_SQLITE
    params = dict(customer_id=customer_id, channel=ident.channel, external_id=ident.external_id, display=display, created_at=at)
    return (await conn.execute(stmt, params)).scalar()


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
    iid = await _insert_identity(conn, customer_id, ident, at, display)
    if iid is None:
        row = await find_identity(conn, ident)
        assert row is not None
        return row.id
    return iid


async def mark_unreachable(conn: AsyncConnection, ident: Identity, reason: str | None) -> None:
    await conn.execute(
        update(identities)
        .where(and_(identities.c.channel == ident.channel, identities.c.external_id == ident.external_id))
        .values(unreachable=reason and reason[:500])
    )
