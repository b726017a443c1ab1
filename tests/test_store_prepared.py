"""hub.store.prepared: a statement run on SQLite's own cursor writes and reads exactly what SQLAlchemy would, on both
databases, and refuses what it cannot do faithfully."""
from __future__ import annotations

from collections import namedtuple
from dataclasses import fields
from datetime import datetime, timedelta, timezone

from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import TypeDecorator, and_, bindparam, insert, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from hub.store import records
from hub.store.db import Database
from hub.store.migrate import migrate
from hub.store.prepared import Prepared, PreparedIn
from hub.store.schema import UtcDateTime, customers, identities, messages, tickets

NOW = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)
_TICKET = dict(customer_id=None, identity_id=None, status="queued", priority="high", department="billing",
               kind="complaint", channel="webchat", language="fa", assignee_id=None, subject="<b>سلام</b> 'x'",
               tags=["vip", "ถาม"], created_at=NOW, updated_at=NOW, first_response_due=NOW + timedelta(hours=1),
               resolution_due=None, breached=[], bot_misses=0, bot_state={"step": 2, "ok": True}, parent_id=None)


async def _customer(db: Database) -> tuple[int, int]:
    async with db.write() as conn:
        cid = (await conn.execute(insert(customers).values(name="c", language="fa", tier="standard", tags=[],
                                                           created_at=NOW).returning(customers.c.id))).scalar()
        iid = (await conn.execute(insert(identities).values(customer_id=cid, channel="webchat", external_id="e1",
                                                            created_at=NOW).returning(identities.c.id))).scalar()
    return cid, iid


async def test_a_prepared_statement_writes_and_reads_what_sqlalchemy_does(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate(db)
        cid, iid = await _customer(db)
        values = {**_TICKET, "customer_id": cid, "identity_id": iid}
        prepared = Prepared(insert(tickets).returning(*tickets.c), tuple(values))
        async with db.write() as conn:
            fast = (await prepared.run(conn, values)).one()
            plain = (await conn.execute(insert(tickets).returning(*tickets.c), values)).one()
        # Every column reads back the same, types included (aware datetimes, JSON, NULLs), but the id.
        assert {**fast._asdict(), "id": 0} == {**plain._asdict(), "id": 0}
        assert fast.created_at == NOW and fast.created_at.tzinfo is not None and fast.bot_state == {"step": 2, "ok": True}

        touch = Prepared(update(tickets).where(tickets.c.id == bindparam("tid"))
                         .values(updated_at=bindparam("now", type_=tickets.c.updated_at.type)).returning(tickets.c.id,
                                                                                                     tickets.c.updated_at),
                         ("tid", "now"))
        later = NOW + timedelta(minutes=5)
        async with db.write() as conn:
            row = (await touch.run(conn, {"tid": fast.id, "now": later})).first()
            assert tuple(row) == (fast.id, later)
            assert (await touch.run(conn, {"tid": -1, "now": later})).first() is None
            bare = Prepared(update(tickets).where(tickets.c.id == bindparam("tid")).values(
                bot_misses=bindparam("n", type_=tickets.c.bot_misses.type)), ("tid", "n"))
            assert (await bare.run(conn, {"tid": fast.id, "n": 2})).rowcount == 1
            assert (await bare.run(conn, {"tid": -1, "n": 2})).rowcount == 0
        async with db.read() as conn:
            stored = (await conn.execute(select(tickets).where(tickets.c.id == fast.id))).one()
        # Written as SQLAlchemy writes it: the other path reads it back unchanged.
        assert stored.updated_at == later and stored.tags == ["vip", "ถาม"] and stored.subject == _TICKET["subject"]
    finally:
        await db.close()


async def test_a_prepared_statement_raises_sqlalchemys_errors(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate(db)
        cid, iid = await _customer(db)
        keys = ("ticket_id", "direction", "author", "text", "channel", "created_at", "provider_id", "attachments",
                "automatic", "meta", "edits")
        add = Prepared(insert(messages).returning(messages.c.id), keys)
        async with db.write() as conn:
            t = (await conn.execute(insert(tickets).returning(tickets.c.id),
                                    {**_TICKET, "customer_id": cid, "identity_id": iid})).scalar()
        row = dict(ticket_id=t, direction="in", author="customer", text="x", channel="webchat", created_at=NOW,
                   provider_id="p1", attachments=[], automatic=False, meta={}, edits=[])
        async with db.write() as conn:
            assert (await add.run(conn, row)).scalar() > 0
        with pytest.raises(IntegrityError):  # the same provider id on the same channel
            async with db.write() as conn:
                await add.run(conn, row)
        with pytest.raises(KeyError):
            async with db.write() as conn:
                await add.run(conn, {k: v for k, v in row.items() if k != "text"})
        # The first statement of a transaction is inside it: a rollback takes it back, a commit keeps it.
        with pytest.raises(RuntimeError):
            async with db.write() as conn:
                await add.run(conn, {**row, "provider_id": "p2"})
                raise RuntimeError("rolled back")
        async with db.write() as conn:
            await add.run_many(conn, [{**row, "provider_id": "p3"}, {**row, "provider_id": "p4"}])
        async with db.read() as conn:
            kept = (await conn.execute(select(messages.c.provider_id).order_by(messages.c.id))).scalars().all()
        assert kept == ["p1", "p3", "p4"]
    finally:
        await db.close()


def test_a_statement_that_needs_values_the_execution_computes_is_refused() -> None:
    # A column left out of an INSERT that has a Python-side default would be filled by SQLAlchemy's execution
    # context, which the prepared path skips: refused when compiled, not written without it.
    withdefault = [c.key for c in messages.c if c.default is not None and not c.primary_key]
    assert withdefault, "messages has a column with a Python-side default"
    keys = [c.key for c in messages.c if c.key not in withdefault and not c.primary_key]
    with pytest.raises(ValueError, match="would compute"):
        Prepared(insert(messages), keys).compiled(sqlite.dialect())
    with pytest.raises(ValueError, match="would compute"):
        Prepared(select(tickets.c.id).where(tickets.c.id.in_(bindparam("ids", expanding=True))), ["ids"]).compiled(
            sqlite.dialect())


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=3, minutes=30)), timezone(timedelta(hours=-9)), ZoneInfo("Asia/Bangkok"),
     ZoneInfo("America/New_York")])))
@settings(max_examples=500, deadline=None)
def test_the_one_step_sqlite_datetime_writes_the_text_sqlalchemys_two_steps_write(at: datetime) -> None:
    # UtcDateTime's own SQLite bind processor against the chain SQLAlchemy would build (process_bind_param, then
    # DATETIME's format): the same text for any aware time, so rows written before and after read and sort alike.
    dialect = sqlite.dialect()
    ours = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    chain = TypeDecorator.bind_processor(UtcDateTime().dialect_impl(dialect), dialect)
    assert ours is not None and chain is not None
    assert ours(at) == chain(at)
    assert ours(at) == chain(at)  # the same value again: from the last one's text
    elsewhere = at.astimezone(timezone(timedelta(hours=5)))  # the same instant, another object and zone
    assert ours(elsewhere) == chain(elsewhere) == chain(at)
    later = at + timedelta(microseconds=1) if at.year < 9999 else at - timedelta(microseconds=1)
    assert ours(later) == chain(later) != chain(at)
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(at.replace(tzinfo=None))


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=3, minutes=30)), ZoneInfo("Asia/Bangkok")])))
@settings(max_examples=300, deadline=None)
def test_the_one_step_sqlite_datetime_reads_what_sqlalchemys_two_steps_read(at: datetime) -> None:
    # UtcDateTime's own SQLite result processor against the chain SQLAlchemy would build (DATETIME's parse, then
    # process_result_value): the same aware UTC time from the text the store writes, and from any other shape.
    dialect = sqlite.dialect()
    impl = UtcDateTime().dialect_impl(dialect)
    ours, chain = impl.result_processor(dialect, None), TypeDecorator.result_processor(impl, dialect, None)
    written = impl.bind_processor(dialect)(at)
    for text in (written, written[:19], written.replace(" ", "T"), written + "+00:00", written[:10]):
        got, want = ours(text), chain(text)
        assert got == want and got.tzinfo is timezone.utc and want.tzinfo is timezone.utc
    assert ours(written) == at.astimezone(timezone.utc)
    assert ours(None) is None


def test_a_ticket_is_made_from_the_columns_its_statements_return() -> None:
    # The ticket INSERT, UPDATE ... RETURNING and the read by id return records.TICKET_COLUMNS only: records.ticket
    # must need no other column (an attribute error here), and every column named must be the table's.
    row = namedtuple("Row", records.TICKET_COLUMNS)(**{c: None for c in records.TICKET_COLUMNS})
    made = records.ticket(row._replace(id=1, status="queued", created_at=NOW))
    assert made.id == 1 and made.status.value == "queued"
    assert set(records.TICKET_COLUMNS) <= set(tickets.c.keys())
    assert {f.name for f in fields(made)} <= set(records.TICKET_COLUMNS)


async def test_an_in_list_of_any_length_reads_and_writes_as_the_expanding_one_would(db_url: str) -> None:
    # PreparedIn pads each list to a power of two with its last value and runs a longer one in parts: the rows and
    # the row count are those of the plain IN list, for every length from 1 to past the limit.
    db = Database(db_url)
    try:
        await migrate(db)
        cid, iid = await _customer(db)
        async with db.write() as conn:
            ids = [(await conn.execute(insert(tickets).returning(tickets.c.id), {**_TICKET, "customer_id": cid,
                                                                                   "identity_id": iid})).scalar()
                   for _ in range(11)]
        for limit, n in [(limit, n) for limit in (3, 4) for n in range(1, 12)]:  # a limit not a power of two too
            read = PreparedIn(lambda binds: select(tickets.c.id, tickets.c.tags).where(tickets.c.id.in_(binds)),
                              limit=limit)
            touch = PreparedIn(lambda binds: update(tickets).where(and_(tickets.c.id.in_(binds),
                                                                        tickets.c.bot_misses >= bindparam("was")))
                               .values(bot_misses=bindparam("now_")), ("was", "now_"), limit=limit)
            want = ids[:n][::-1] + [ids[0]] * 2  # in any order, with repeats
            async with db.read() as conn:
                got = (await read.run(conn, want)).all()
            assert sorted(r.id for r in got) == sorted(set(want)) and all(r.tags == ["vip", "ถาม"] for r in got)
            async with db.write() as conn:
                assert (await touch.run(conn, want, {"was": 0, "now_": n})).rowcount == n
                assert (await touch.run(conn, want, {"was": 99, "now_": n})).rowcount == 0
                # An empty list runs no statement: no rows, nothing changed (set_status and _stop rely on it).
                assert (await touch.run(conn, [], {"was": 0, "now_": n})).rowcount == 0
                assert (await read.run(conn, [])).all() == []
    finally:
        await db.close()
