"""Ticket, message, note and trace queries shared by intake, the agent API, the bot and the scheduler."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import Attachment, Author, Direction, Message, Status, Ticket
from hub.store import facts, records
from hub.store.prepared import Prepared, PreparedIn, bound_values
from hub.store.schema import agents, identities, mentions, messages, notes, outbox, tickets, trace


# Built once and executed with parameters: SQLAlchemy then compiles each of them a single time.  Those of every new
# conversation and every reply are prepared (hub.store.prepared: on SQLite, run on the driver's cursor).
_MESSAGE_KEYS = ("ticket_id", "direction", "author", "text", "channel", "created_at", "provider_id", "html", "agent_id",
                 "attachments", "automatic", "delivery", "meta", "raw", "review_pending", "edits")
_INSERT_MESSAGE = Prepared(insert(messages).returning(messages.c.id), _MESSAGE_KEYS)
_INSERT_OUTBOX = Prepared(insert(outbox).returning(outbox.c.id), (
    "message_id", "channel", "state", "attempts", "next_attempt_at", "created_at", "locked_until"))
_INSERT_TRACE = Prepared(insert(trace), ("ticket_id", "at", "what", "why"))
# What a statement returns or reads when its row only becomes a Ticket (records.ticket).
TICKET_ROW = tuple(tickets.c[c] for c in records.TICKET_COLUMNS)


# Conditions a ticket update may add to its ticket id, by name (`update_ticket`'s `guard`): a conditional write
# changes the ticket once when two processes, or two messages, decide the same change.
_GUARDS: dict[str, Callable[[], ColumnElement[bool] | None]] = {
    "": lambda: None,
    "not_complaint": lambda: tickets.c.kind != "complaint",
    "untitled": lambda: tickets.c.subject.is_(None),
    "kind": lambda: tickets.c.kind == bindparam("g_kind"),  # still the kind the decision was made on
}


@functools.lru_cache(maxsize=256)
def _update_statement(columns: tuple[str, ...], guard: str, returning: bool) -> Prepared:
    """Built and prepared once per set of columns and guard: building an UPDATE of the ticket table and its cache
    key took longer than running it (~3x for one that returns the row)."""
    where = tickets.c.id == bindparam("g_id")
    extra = _GUARDS[guard]()
    stmt = (update(tickets).where(and_(where, extra) if extra is not None else where)
            .values(**bound_values(tickets, columns)))
    keys = ("g_id", *(f"v_{c}" for c in columns), *(("g_kind",) if guard == "kind" else ()))
    return Prepared(stmt.returning(*TICKET_ROW) if returning else stmt, keys)


async def update_ticket(conn: AsyncConnection, ticket_id: int, values: dict[str, Any], *, guard: str = "",
                        returning: bool = True, kind: str | None = None) -> Any:
    """UPDATE one ticket's `values` where `guard` holds (`kind`: the value the "kind" guard compares with).
    Returns the updated row (None when the guard did not hold), or with `returning=False` the result (rowcount)."""
    params = {"g_id": ticket_id, **{f"v_{c}": v for c, v in values.items()}}
    if guard == "kind":
        params["g_kind"] = kind
    res = await _update_statement(tuple(sorted(values)), guard, returning).run(conn, params)
    return res.first() if returning else res


class NotFound(Exception):
    pass


class Conflict(Exception):
    """A concurrent change won (the ticket was claimed first, its status moved on)."""


_TICKET_BY_ID = select(*TICKET_ROW).where(tickets.c.id == bindparam("tid"))
_GET_TICKET = {False: Prepared(_TICKET_BY_ID, ("tid",)), True: Prepared(_TICKET_BY_ID.with_for_update(), ("tid",))}


async def get_ticket(conn: AsyncConnection, ticket_id: int, *, lock: bool = False) -> Ticket:
    """`lock`: take the row for the rest of a write transaction (SELECT ... FOR UPDATE where the database has it)."""
    row = (await _GET_TICKET[lock].run(conn, {"tid": ticket_id})).first()
    if row is None:
        raise NotFound(f"ticket {ticket_id}")
    return records.ticket(row)


async def add_trace(conn: AsyncConnection, ticket_id: int, at: datetime, what: str, why: str) -> None:
    await _INSERT_TRACE.run(conn, dict(ticket_id=ticket_id, at=at, what=what, why=why))


async def add_trace_rows(conn: AsyncConnection, at: datetime, rows: Sequence[tuple[int, str, str]]) -> None:
    """Trace entries (ticket id, what, why) on one ticket or several, in one statement."""
    if rows:
        await _INSERT_TRACE.run_many(conn, [dict(ticket_id=t, at=at, what=w, why=y) for t, w, y in rows])


async def add_traces(conn: AsyncConnection, ticket_id: int, at: datetime, items: Sequence[tuple[str, str]]) -> None:
    await add_trace_rows(conn, at, [(ticket_id, w, y) for w, y in items])


async def add_traces_each(conn: AsyncConnection, ticket_ids: Sequence[int], at: datetime, what: str, why: str) -> None:
    """One trace entry on each of several tickets."""
    await add_trace_rows(conn, at, [(t, what, why) for t in ticket_ids])


async def insert_message(
    conn: AsyncConnection,
    *,
    ticket_id: int,
    direction: Direction,
    author: Author,
    text: str,
    channel: str,
    at: datetime,
    provider_id: str | None = None,
    html: str | None = None,
    agent_id: int | None = None,
    attachments: Sequence[Attachment] = (),
    automatic: bool = False,
    delivery: str | None = None,
    meta: dict[str, Any] | None = None,
    raw: dict[str, Any] | None = None,
    review_pending: bool | None = None,
) -> Message:
    values = dict(
        ticket_id=ticket_id,
        direction=direction.value,
        author=author.value,
        text=text,
        channel=channel,
        created_at=at,
        provider_id=provider_id,
        html=html,
        agent_id=agent_id,
        attachments=[asdict(a) for a in attachments],
        automatic=automatic,
        delivery=delivery,
        meta=meta or {},
        raw=raw,
        review_pending=review_pending or None,
        edits=[],
    )
    mid = (await _INSERT_MESSAGE.run(conn, values)).scalar_one()
    facts.note("message", mid)
    return Message(
        id=mid,
        ticket_id=ticket_id,
        direction=direction,
        author=author,
        text=text,
        channel=channel,
        created_at=at,
        delivery=None if delivery is None else records.Delivery(delivery),
        provider_id=provider_id,
        html=html,
        attachments=tuple(attachments),
        agent_id=agent_id,
    )


async def enqueue_outbound(
    conn: AsyncConnection, message_id: int, channel: str, at: datetime, claimed_until: datetime | None = None
) -> int:
    """The outbox row is written in the same transaction as its message: a reply is never stored unsent.
    `claimed_until` writes it already claimed by this process, which sends it right after commit (one write
    transaction fewer per reply); if this process dies first, the claim expires and a sweeper sends it."""
    params = dict(
        message_id=message_id, channel=channel, state="pending", attempts=1 if claimed_until else 0,
        next_attempt_at=at, created_at=at, locked_until=claimed_until,
    )
    return (await _INSERT_OUTBOX.run(conn, params)).scalar_one()


async def ticket_messages(conn: AsyncConnection, ticket_id: int, limit: int = 500) -> list[Message]:
    rows = await conn.execute(
        select(messages).where(messages.c.ticket_id == ticket_id).order_by(messages.c.id).limit(limit)
    )
    return [records.message(r) for r in rows]


async def customer_history(
    conn: AsyncConnection, customer_id: int, channel: str, limit: int = 200, *, identity_id: int | None = None
) -> list[Message]:
    """A customer's messages on one channel across their tickets (what a returning chat visitor sees), only those
    of tickets written from `identity_id` when given."""
    where = and_(tickets.c.customer_id == customer_id, messages.c.channel == channel)
    if identity_id is not None:
        where = and_(where, tickets.c.identity_id == identity_id)
    rows = await conn.execute(
        select(messages)
        .join(tickets, tickets.c.id == messages.c.ticket_id)
        .where(where)
        .order_by(messages.c.id.desc())
        .limit(limit)
    )
    return [records.message(r) for r in reversed(rows.all())]


async def ticket_notes(conn: AsyncConnection, ticket_id: int) -> list[dict[str, Any]]:
    rows = (await conn.execute(select(notes).where(notes.c.ticket_id == ticket_id).order_by(notes.c.id))).all()
    named: dict[int, list[int]] = {}
    for m in await conn.execute(select(mentions.c.note_id, mentions.c.agent_id)
                                .where(mentions.c.ticket_id == ticket_id).order_by(mentions.c.id)):
        named.setdefault(m.note_id, []).append(m.agent_id)
    return [
        {"id": r.id, "agent_id": r.agent_id, "text": r.text, "created_at": r.created_at.isoformat(),
         "mentions": named.get(r.id, [])} for r in rows
    ]


async def ticket_trace(conn: AsyncConnection, ticket_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(select(trace).where(trace.c.ticket_id == ticket_id).order_by(trace.c.id))
    return [{"at": r.at.isoformat(), "what": r.what, "why": r.why} for r in rows]


@functools.lru_cache(maxsize=64)
def _status_move(columns: tuple[str, ...]) -> PreparedIn:
    """`set_status`'s UPDATE for a set of columns, prepared per number of statuses it may move from."""
    return PreparedIn(lambda statuses: update(tickets)
                      .where(and_(tickets.c.id == bindparam("g_id"), tickets.c.status.in_(statuses)))
                      .values(**bound_values(tickets, columns)),
                      ("g_id", *(f"v_{c}" for c in columns)), limit=8)


async def set_status(
    conn: AsyncConnection,
    ticket_id: int,
    allowed_from: Sequence[str],
    at: datetime,
    **values: Any,
) -> bool:
    """Conditional update: applies only while the ticket is still in one of `allowed_from` (atomic on both
    databases: the row lock is held to commit).  Returns whether it applied."""
    params = {"g_id": ticket_id, "v_updated_at": at, **{f"v_{c}": v for c, v in values.items()}}
    move = _status_move(tuple(sorted({"updated_at", *values})))
    res = await move.run(conn, list(allowed_from), params)  # none allowed: no statement, a row count of 0
    if res.rowcount == 1 and values.get("status") == "resolved":
        facts.note("resolved", ticket_id)
    return res.rowcount == 1


# Read for every reply sent (hub.outbox), so prepared.
_ADDRESS = select(identities.c.channel, identities.c.external_id, identities.c.unreachable)
_RECIPIENT = Prepared(_ADDRESS.join(tickets, tickets.c.identity_id == identities.c.id)
                      .where(tickets.c.id == bindparam("tid")), ("tid",))
_RECIPIENT_NAMED = Prepared(_ADDRESS.join(tickets, tickets.c.customer_id == identities.c.customer_id)
                            .where(and_(identities.c.id == bindparam("iid"), tickets.c.id == bindparam("tid"))),
                            ("tid", "iid"))


_ASSIGNED = Prepared(update(agents).where(agents.c.id == bindparam("aid"))
                     .values(last_assigned_at=bindparam("at", type_=agents.c.last_assigned_at.type)), ("aid", "at"))


async def note_assigned(conn: AsyncConnection, agent_id: int, at: datetime) -> None:
    """When the agent last took a ticket (a claim or the assigner's pick): the round robin's order."""
    await _ASSIGNED.run(conn, {"aid": agent_id, "at": at})


async def recipient(conn: AsyncConnection, ticket_id: int, identity_id: int | None = None) -> tuple[str, str, str | None] | None:
    """(channel, external_id, unreachable reason) of the identity a ticket's replies go to, or of `identity_id`
    when a message names its own (a survey of a phone callback goes to the customer's chat)."""
    if identity_id is not None:
        row = (await _RECIPIENT_NAMED.run(conn, {"tid": ticket_id, "iid": identity_id})).first()
    else:
        row = (await _RECIPIENT.run(conn, {"tid": ticket_id})).first()
    return None if row is None else (row.channel, row.external_id, row.unreachable)


async def thread_refs(conn: AsyncConnection, ticket_id: int, channel: str, limit: int = 20) -> tuple[str, ...]:
    rows = await conn.execute(
        select(messages.c.provider_id)
        .where(and_(messages.c.ticket_id == ticket_id, messages.c.channel == channel, messages.c.provider_id.is_not(None)))
        .order_by(messages.c.id.desc())
        .limit(limit)
    )
    return tuple(reversed([r.provider_id for r in rows]))


async def count_open(conn: AsyncConnection, customer_id: int) -> int:
    open_ = [s.value for s in (Status.BOT, Status.QUEUED, Status.ASSIGNED, Status.PENDING)]
    return (
        await conn.execute(
            select(func.count()).select_from(tickets).where(
                and_(tickets.c.customer_id == customer_id, tickets.c.status.in_(open_))
            )
        )
    ).scalar_one()


async def identity_exists(conn: AsyncConnection, channel: str, external_id: str) -> bool:
    row = await conn.execute(
        select(identities.c.id).where(and_(identities.c.channel == channel, identities.c.external_id == external_id))
    )
    return row.first() is not None
