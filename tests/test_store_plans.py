"""The lookups made for every message, and at every start, search an index on SQLite instead of reading every row: a
desk holds millions of messages after a year, and a scan per group of new conversations (or per start) grows with
it (bench/intake_cpu.py --stored 1000000: 3.3 ms a new conversation with the scan, 1.3 ms without).  Asked of
SQLite itself with EXPLAIN QUERY PLAN on a migrated database."""
from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from hub.escalation import UNREVIEWED
from hub.inbound_store import STORED as _STORED
from hub.placement import _CONVERSATION, _CUSTOMER_FACTS, _QUOTED
from hub.store.db import Database
from hub.store.migrate import migrate
from hub.store.prepared import Prepared
from hub.store.schema import HANDED_OFF, trace
from hub.surveys.zones import LATEST_BOOKED_ZONE

BIG = {"messages", "tickets", "trace", "jobs", "outbox", "customers", "identities", "callbacks"}


def _scans(path: str, sql: str, n_params: int) -> list[str]:
    with sqlite3.connect(path) as raw:
        plan = raw.execute("EXPLAIN QUERY PLAN " + sql, [None] * n_params).fetchall()
    # "SCAN t" reads every row of t; "SCAN t USING INDEX" walks an index in order, "SEARCH" looks up a key.
    return [d for *_, d in plan if d.startswith("SCAN ") and "USING" not in d and d.split()[1] in BIG]


def _sql(statement: Any) -> tuple[str, int]:
    if isinstance(statement, Prepared):
        c = statement.compiled(sqlite.dialect(paramstyle="qmark"))
        return c.sql, len(c.names)
    compiled = statement.compile(dialect=sqlite.dialect(paramstyle="qmark"))
    return str(compiled), len(compiled.positiontup or ())


async def test_the_lookups_made_per_message_and_per_start_search_an_index(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        await migrate(db)
    finally:
        await db.close()
    path = sqlite_url.split("///", 1)[1]
    statements = {
        "a group's stored provider ids": _STORED._prepared(4),
        "a known customer's routing facts": _CUSTOMER_FACTS,
        "the conversation a known sender continues": _CONVERSATION,
        "the ticket a mail quotes": _QUOTED,
        "the messages left unreviewed at the last stop": UNREVIEWED,
        "the zone of a customer's latest callback booking (every survey and follow-up)": LATEST_BOOKED_ZONE,
    }
    for what, statement in statements.items():
        sql, n = _sql(statement)
        assert _scans(path, sql, n) == [], f"{what} reads every row: {sql}"
    # The reports' handed-off tickets read the partial index of handoff lines, not every line of the trace.
    compiled = select(trace.c.ticket_id).where(HANDED_OFF).compile(
        dialect=sqlite.dialect(paramstyle="qmark"), compile_kwargs={"render_postcompile": True})
    with sqlite3.connect(path) as raw:
        plan = [d for *_, d in raw.execute("EXPLAIN QUERY PLAN " + str(compiled)).fetchall()]
    assert plan == ["SCAN trace USING INDEX ix_trace_handoffs"], plan


def test_the_check_sees_a_scan() -> None:
    """The check itself: the review's old condition ("IS 1") reads every message, which the partial index cannot
    serve."""
    with sqlite3.connect(":memory:") as raw:
        raw.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, review_pending BOOLEAN)")
        raw.execute("CREATE INDEX ix_messages_review_pending ON messages (id) WHERE review_pending")
        plan = raw.execute("EXPLAIN QUERY PLAN SELECT id FROM messages WHERE review_pending IS 1 ORDER BY id")\
            .fetchall()
        used = raw.execute("EXPLAIN QUERY PLAN SELECT id FROM messages WHERE review_pending ORDER BY id").fetchall()
    assert [d for *_, d in plan] == ["SCAN messages"]
    assert all("USING INDEX ix_messages_review_pending" in d for *_, d in used)
