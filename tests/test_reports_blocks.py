"""Day blocks (hub/reports/blocks.py): after every kind of change a report depends on, the figures from blocks equal
the figures from the direct queries over the same database (SQLite and PostgreSQL), in every grouping and in time
zones whose day boundaries fall elsewhere; a trigger lost to a migration is restored and stale blocks dropped."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import func, insert, select, update

from hub.clock import FrozenClock
from hub.reports import blocktriggers
from hub.reports.figures import _direct
from hub.reports.fromblocks import from_blocks
from hub.reports.params import GROUPS, ReportQuery
from hub.store.schema import callbacks, labels, messages, report_blocks, surveys, tickets, trace
from tests import reportfixture as fx
from tests.hubtest import hub_config, running_hub

ZONES = ("UTC", "Asia/Tehran", "America/New_York")


def _queries() -> list[ReportQuery]:
    out = [ReportQuery(date(2026, 3, 2), date(2026, 3, 8), tz, g) for tz in ZONES for g in GROUPS]
    out += [ReportQuery(date(2026, 3, 1), date(2026, 3, 9), "Asia/Tehran", "agent", department="support"),
            ReportQuery(date(2026, 3, 3), date(2026, 3, 3), "UTC", "day", channel="webchat")]
    return out


async def _same(h: Any, now: datetime = fx.NOW) -> int:
    """Compare every query both ways; returns how many blocks are stored afterwards."""
    db, config = h.hub.db, h.hub.config
    for q in _queries():
        assert await from_blocks(db, config, q, now) == await _direct(db, config, q, now), q
    async with db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(report_blocks))).scalar_one()


async def _blocks_of(h: Any, source: str) -> set[int]:
    async with h.hub.db.read() as conn:
        return set((await conn.execute(select(report_blocks.c.day).where(report_blocks.c.source == source))).scalars())


def _day(d: int) -> int:
    return (date(2026, 3, d) - date(1970, 1, 1)).days


async def test_blocks_follow_every_change_a_report_reads(db_url: str) -> None:
    async with running_hub(hub_config(db_url, business_hours=fx.HOURS), clock=FrozenClock(fx.NOW)) as h:
        a = await h.add_agent("a@example.com", "agent")
        b = await h.add_agent("b@example.com", "agent")
        ids = await fx.load(h.hub.db, a, b)
        assert await _same(h) > 0
        assert _day(3) in await _blocks_of(h, "tickets")
        # "now" moves past t4's and t5's resolution deadlines: decided without any row changing.
        assert await _same(h, datetime(2026, 3, 12, 12, tzinfo=timezone.utc))

        changes: list[tuple[str, Any, str, int]] = [
            # (what, statement, source whose block of that day must go, day)
            ("t3 resolved", update(tickets).where(tickets.c.id == ids["t3"]).values(
                resolved_at=fx.at(9, 10), status="resolved"), "tickets", 3),
            ("t1 reassigned", update(tickets).where(tickets.c.id == ids["t1"]).values(assignee_id=b), "tickets", 2),
            ("t6 moved to billing", update(tickets).where(tickets.c.id == ids["t6"]).values(department="billing"),
             "tickets", 5),
            ("t4 handed off", insert(trace).values(ticket_id=ids["t4"], at=fx.at(7, 10), what="handoff",
                                                    why="no confident answer (low score)"), "tickets", 7),
            ("a miss on t4", insert(messages).values(
                ticket_id=ids["t4"], direction="out", author="bot", text="?", channel="webchat",
                created_at=fx.at(7, 11), attachments=[], automatic=True, edits=[],
                meta={"bot": {"reason": "no confident answer (low score)"}}),
             "tickets", 7),
            ("a customer question reworded", update(messages).where(messages.c.text == "HOW do I reset my password")
             .values(text="How can I change my password"), "tickets", 4),
            ("an unhelpful answer", insert(labels).values(
                ticket_id=ids["t6"], text="Are you open on Sunday?", language="en", source="not_helpful",
                created_at=fx.at(5, 9, 2)),
             "tickets", 5),
            ("a survey answered", insert(surveys).values(
                ticket_id=ids["t6"], customer_id=1, resolved_at=fx.at(5, 9, 5), channel="webchat", department="support",
                agent_id=a, language="en", state="answered", score=1, nps=2, answers=1, due_at=fx.at(6, 9),
                sent_at=fx.at(6, 9), answered_at=fx.at(6, 23, 50), created_at=fx.at(6, 9), updated_at=fx.at(6, 9)),
             "surveys", 6),
            ("a score changed", update(surveys).where(surveys.c.ticket_id == ids["t1"]).values(score=1), "surveys", 2),
            ("a callback reached", update(callbacks).where(callbacks.c.ticket_id == ids["t3"]).values(
                status="done", outcome="reached"), "callbacks", 6),
            # A callback's department is its ticket's: t2's callbacks (slots on the 4th and 5th) follow it.
            ("t2 moved to sales", update(tickets).where(tickets.c.id == ids["t2"]).values(department="sales"),
             "callbacks", 4),
            ("t5 deleted", tickets.delete().where(tickets.c.id == ids["t5"]), "tickets", 4),
        ]
        for what, stmt, source, day in changes:
            assert _day(day) in await _blocks_of(h, source), what
            async with h.hub.db.write() as conn:
                await conn.execute(stmt)
            assert _day(day) not in await _blocks_of(h, source), what
            assert await _same(h), what


async def test_a_lost_trigger_is_restored_and_stale_blocks_dropped(db_url: str) -> None:
    async with running_hub(hub_config(db_url, business_hours=fx.HOURS), clock=FrozenClock(fx.NOW)) as h:
        a = await h.add_agent("a@example.com", "agent")
        ids = await fx.load(h.hub.db, a, a)
        assert await _same(h) > 0
        # As a migration that copies the tickets table would: its triggers are gone, and changes go unrecorded.
        async with h.hub.db.write() as conn:
            await conn.exec_driver_sql("DROP TRIGGER rb_tickets_upd" + ("" if h.hub.db.is_sqlite else " ON tickets"))
            await conn.execute(update(tickets).where(tickets.c.id == ids["t1"]).values(kind="complaint"))
        assert _day(2) in await _blocks_of(h, "tickets")  # stale, and nothing dropped it
        await _same(h)
        listed = ("SELECT name FROM sqlite_master WHERE type = 'trigger'" if h.hub.db.is_sqlite
                  else "SELECT tgname FROM pg_trigger")
        async with h.hub.db.read() as conn:
            names = set((await conn.exec_driver_sql(listed)).scalars())
        assert set(blocktriggers.TRIGGERS) <= names
        async with h.hub.db.write() as conn:
            await conn.execute(update(tickets).where(tickets.c.id == ids["t1"]).values(kind="question"))
        assert _day(2) not in await _blocks_of(h, "tickets")
        assert await _same(h)


async def test_a_block_is_not_kept_while_a_change_to_its_rows_is_uncommitted(pg_url: str) -> None:
    """PostgreSQL: a report building a day whose rows another transaction is changing uses what it read but does
    not keep the block (it would miss the change once committed); the other days are kept."""
    async with running_hub(hub_config(pg_url, business_hours=fx.HOURS), clock=FrozenClock(fx.NOW)) as h:
        a = await h.add_agent("a@example.com", "agent")
        ids = await fx.load(h.hub.db, a, a)
        q = ReportQuery(date(2026, 3, 2), date(2026, 3, 8), "UTC", "day")
        async with h.hub.db.write() as conn:
            await conn.execute(update(tickets).where(tickets.c.id == ids["t1"]).values(resolved_at=fx.at(6, 10)))
            before, _ = await from_blocks(h.hub.db, h.hub.config, q, fx.NOW)  # the change is not committed yet
            kept = await _blocks_of(h, "tickets")
            assert _day(3) in kept and _day(2) not in kept
        # t1's resolution time (2 h) was read as it was; once committed, the next report reads the new one.
        assert before["volume"]["total"]["resolution_median"] == 7200.0
        after = await from_blocks(h.hub.db, h.hub.config, q, fx.NOW)
        assert after[0]["volume"]["total"]["resolution_median"] != 7200.0
        assert after == await _direct(h.hub.db, h.hub.config, q, fx.NOW)


async def test_a_migration_can_copy_a_table_the_triggers_name(sqlite_url: str) -> None:
    """SQLite alters a table by copying it and renaming the copy back, which fails while another table's trigger
    names it (rb_trace_ins reads tickets): migrations run with the triggers dropped, then restored."""
    from hub.store.db import Database
    from hub.store.migrate import migrate

    db = Database(sqlite_url)
    await migrate(db)

    def copy_tickets(sync_conn: Any) -> None:
        # What Alembic's batch mode does: a new table, the rows copied, the old one dropped, the new one renamed.
        sql = sync_conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'tickets'").scalar()
        sync_conn.exec_driver_sql(sql.replace("CREATE TABLE tickets", "CREATE TABLE _tmp_tickets", 1))
        sync_conn.exec_driver_sql("INSERT INTO _tmp_tickets SELECT * FROM tickets")
        sync_conn.exec_driver_sql("DROP TABLE tickets")
        sync_conn.exec_driver_sql("ALTER TABLE _tmp_tickets RENAME TO tickets")

    try:
        try:
            await db.run_sync(copy_tickets, foreign_keys=False)
            raise AssertionError("the copy should fail while the triggers name tickets")
        except Exception as e:  # noqa: BLE001 (sqlite3's OperationalError, wrapped)
            assert "trigger" in str(e)
        await db.run_sync(lambda c: blocktriggers.around_copies(c, lambda: copy_tickets(c)), foreign_keys=False)
        async with db.read() as conn:
            names = set((await conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        assert set(blocktriggers.TRIGGERS) <= names
    finally:
        await db.close()
