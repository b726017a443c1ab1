"""Customers and their identities: one person, many (channel, external id) addresses."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import Identity
from hub.store.prepared import Prepared
from hub.store.schema import customers, identities

# Built once, executed with parameters (compiled a single time).  Only verified identities are unique, so the
# conflict target names the partial index's predicate.
# A new conversation's new customer runs these: prepared (hub.store.prepared: on SQLite, the driver's cursor).
_IDENTITY_KEYS = ("customer_id", "channel", "external_id", "display", "created_at", "verified")
_INSERT_CUSTOMER = Prepared(insert(customers).returning(customers.c.id),
                            ("name", "language", "tier", "tags", "created_at"))
_INSERT_IDENTITY = Prepared(insert(identities).returning(identities.c.id), _IDENTITY_KEYS)
_INSERT_IDENTITY_PG = Prepared(
    pg_insert(identities).on_conflict_do_nothing(index_elements=["channel", "external_id"], index_where=text("verified"))
    .returning(identities.c.id),
    _IDENTITY_KEYS,
)
_INSERT_IDENTITY_SQLITE = Prepared(
    sqlite_insert(identities).on_conflict_do_nothing(index_elements=["channel", "external_id"], index_where=text("verified"))
    .returning(identities.c.id),
    _IDENTITY_KEYS,
)
_other = identities.alias("other")


def _address(ident: Identity) -> Any:
    return and_(identities.c.channel == ident.channel, identities.c.external_id == ident.external_id)


async def find_identity(conn: AsyncConnection, ident: Identity) -> Any:
    """The verified identity of this address, if someone proved it: the only kind that finds a customer."""
    return (
        await conn.execute(select(identities.c.id, identities.c.customer_id).where(and_(_address(ident), identities.c.verified)))
    ).first()


# Every row of an address with whether its customer proved anything: one statement answers both questions `resolve`
# asks (who proved this address? else which form-only record holds it?).
_proven = select(_other.c.id).where(and_(_other.c.customer_id == identities.c.customer_id, _other.c.verified)).exists()
# The customer's name and language come along, so filling them in needs no read of its own.
_ADDRESS_ROWS = Prepared(
    select(identities.c.id, identities.c.customer_id, identities.c.verified, _proven.label("proven"),
           customers.c.name, customers.c.language)
    .join(customers, customers.c.id == identities.c.customer_id)
    .where(and_(identities.c.channel == bindparam("channel"), identities.c.external_id == bindparam("external_id")))
    .order_by(identities.c.id),
    ("channel", "external_id"),
)


def _pick(rows: list[Any], verified: bool) -> Any:
    """The verified row of the address (a verified sender only), else the oldest unverified row on a customer
    nobody proved anything for: a record that exists only through forms (contact form, callback form).  A customer
    with a chat, a Telegram chat or a mail is never one, so an address claimed in a chat never draws anyone else's
    messages into that chat's record."""
    if verified:
        for r in rows:
            if r.verified:
                return r
    for r in rows:
        if not r.verified and not r.proven:
            return r
    return None


async def resolve(
    conn: AsyncConnection,
    ident: Identity,
    at: datetime,
    *,
    verified: bool = True,
    name: str | None = None,
    language: str | None = None,
    display: str | None = None,
) -> tuple[int, int]:
    """(customer_id, identity_id) for a sender, creating the customer on first contact (see `resolve_sender`)."""
    cid, iid, _ = await resolve_sender(conn, ident, at, verified=verified, name=name, language=language, display=display)
    return cid, iid


async def resolve_sender(
    conn: AsyncConnection,
    ident: Identity,
    at: datetime,
    *,
    verified: bool = True,
    name: str | None = None,
    language: str | None = None,
    display: str | None = None,
) -> tuple[int, int, bool]:
    """(customer_id, identity_id, created) for a sender, creating the customer on first contact.  A known customer's
    empty name and language are filled from what the channel tells (Telegram's profile, an email's From name).
    `created`: the customer was inserted by this call, so nothing else of theirs exists yet.

    A verified sender joins the customer who proved the address, else the form-only record of that address (a mail
    from the address proves it: the row becomes verified), else a new customer.  An unverified sender (a form) never
    joins a proven customer: it joins the form-only record of the address or starts one."""
    rows = (await _ADDRESS_ROWS.run(conn, {"channel": ident.channel, "external_id": ident.external_id})).all()
    row = _pick(rows, verified)
    if row is not None and verified and not row.verified:
        await conn.execute(update(identities).where(identities.c.id == row.id).values(verified=True))
    if row is not None:
        fill = {}
        if name and not row.name:
            fill["name"] = name[:300]
        if language and not row.language:
            fill["language"] = language[:10]
        if fill:
            await conn.execute(update(customers).where(customers.c.id == row.customer_id).values(**fill))
        return row.customer_id, row.id, False
    params = dict(name=(name or None) and name[:300], language=language and language[:10], tier="standard", tags=[], created_at=at)
    cid = (await _INSERT_CUSTOMER.run(conn, params)).scalar_one()
    iid = await _insert_identity(conn, cid, ident, at, display, verified=verified)
    if iid is None:  # another process created this customer a moment ago: use theirs, drop ours
        await conn.execute(delete(customers).where(customers.c.id == cid))
        row = await find_identity(conn, ident)
        assert row is not None
        return row.customer_id, row.id, False
    return cid, iid, True


async def _insert_identity(
    conn: AsyncConnection, customer_id: int, ident: Identity, at: datetime, display: str | None, *, verified: bool = True
) -> int | None:
    """Insert; for a verified identity None when the address is already proven.  ON CONFLICT keeps the transaction
    usable on PostgreSQL without a savepoint."""
    params = dict(customer_id=customer_id, channel=ident.channel, external_id=ident.external_id, display=display,
                  created_at=at, verified=verified)
    if not verified:
        return (await _INSERT_IDENTITY.run(conn, params)).scalar_one()
    stmt = _INSERT_IDENTITY_PG if conn.dialect.name == "postgresql" else _INSERT_IDENTITY_SQLITE
    return (await stmt.run(conn, params)).scalar()


async def lock_customer(conn: AsyncConnection, customer_id: int) -> None:
    """Serialise a customer's concurrent messages (PostgreSQL), so two of them never open two tickets.
    SQLite needs nothing: its writers are already serialised."""
    if conn.dialect.name != "sqlite":
        await conn.execute(select(customers.c.id).where(customers.c.id == customer_id).with_for_update())


async def add_identity(
    conn: AsyncConnection, customer_id: int, ident: Identity, at: datetime, *, display: str | None = None,
    verified: bool = True,
) -> int:
    """Attach an address to a customer.  Verified (the channel proved it): when another customer already proved it,
    that one keeps it (merging customers is a supervisor's decision, not an automatic one); this customer's own
    unverified row of it becomes verified.  Unverified (typed by the sender): a display row of this customer only."""
    if verified and (row := await find_identity(conn, ident)) is not None:
        return int(row.id)
    own = (
        await conn.execute(
            select(identities.c.id, identities.c.verified)
            .where(and_(_address(ident), identities.c.customer_id == customer_id))
            .order_by(identities.c.verified.desc(), identities.c.id)
            .limit(1)
        )
    ).first()
    if own is not None:
        if verified and not own.verified:
            await conn.execute(update(identities).where(identities.c.id == own.id).values(verified=True))
        return int(own.id)
    iid = await _insert_identity(conn, customer_id, ident, at, display, verified=verified)
    if iid is None:  # proven by another customer a moment ago
        row = await find_identity(conn, ident)
        assert row is not None
        return int(row.id)
    return iid


async def mark_unreachable(conn: AsyncConnection, ident: Identity, reason: str | None, *, customer_id: int | None = None) -> None:
    """Record why an address cannot be reached: on every customer holding it, or only on `customer_id` (a wrong
    number given in one booking says nothing about the number's proven owner)."""
    where = _address(ident) if customer_id is None else and_(_address(ident), identities.c.customer_id == customer_id)
    await conn.execute(update(identities).where(where).values(unreachable=reason and reason[:500]))
