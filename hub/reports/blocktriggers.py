"""The triggers that drop day blocks (hub/reports/blocks.py) whose rows change, in the transaction of the change,
on SQLite and PostgreSQL.

Each trigger names the blocks to drop as a source and a query for the days (`DAY(x)` stands for the dialect's
day expression).  On PostgreSQL the drop first takes a shared advisory lock on the block (`rb_drop`): a report
storing a block holds that lock exclusively from before it reads the block's rows until it commits, so a change
either commits before the report reads, or waits and then drops the block the report stored.  Writers share the
lock, so they never wait for each other.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, text

from hub.store.db import Database
from hub.store.schema import HANDOFF_LIST
from hub.store.schema import report_blocks as rb


def day_of(col: str, dialect: str) -> str:
    """The UTC day number (days since 1970-01-01) of a stored time, in SQL: the same expression in the triggers and
    the builders, so a row is always looked for in the block its change invalidates."""
    if dialect == "sqlite":
        return f"CAST(julianday({col}) - 2440587.5 AS INTEGER)"
    return f"CAST(floor(extract(epoch FROM {col}) / 86400) AS INTEGER)"


def micros_of(col: str, dialect: str) -> str:
    """A stored time as whole microseconds since 1970, in SQL, exact (SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff';
    PostgreSQL's epoch is a numeric): the database computes it faster than Python parses the values."""
    if dialect == "sqlite":
        return f"(CAST(strftime('%s', {col}) AS INTEGER) * 1000000 + CAST(substr({col}, 21, 6) AS INTEGER))"
    return f"CAST(extract(epoch FROM {col}) * 1000000 AS BIGINT)"


LOCK_KEY = "report_blocks:"  # with the source, the first key of a block's advisory lock (the day is the second)

# Columns of tickets the ticket blocks are built from (an UPDATE setting none of them leaves the blocks alone).
_TICKET_COLS = ("created_at", "department", "kind", "channel", "language", "assignee_id", "tags", "first_response_due",
                "resolution_due", "first_response_at", "resolved_at", "breached", "bot_state")


def _ticket(ref: str) -> tuple[str, str]:
    return "tickets", f"SELECT DAY(created_at) FROM tickets WHERE id = {ref}"


def _own(source: str, col: str) -> tuple[str, str]:
    return source, f"SELECT DAY({col})"


# name -> (event, WHEN condition or "", [(source, query for the days)])
TRIGGERS: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "rb_tickets_ins": ("AFTER INSERT ON tickets", "", [_own("tickets", "NEW.created_at")]),
    "rb_tickets_upd": (f"AFTER UPDATE OF {', '.join(_TICKET_COLS)} ON tickets", "",
                       [_own("tickets", "OLD.created_at"), _own("tickets", "NEW.created_at")]),
    "rb_tickets_del": ("AFTER DELETE ON tickets", "", [_own("tickets", "OLD.created_at")]),
    # A callback is grouped and filtered by its ticket's department and channel.
    "rb_tickets_cb": ("AFTER UPDATE OF department, channel ON tickets", "",
                      [("callbacks", "SELECT DAY(slot_start) FROM callbacks WHERE ticket_id = NEW.id")]),
    # Handoffs (bot figures, missed questions), the bot's replies and the customer messages before them, not-helpful
    # labels, stored durations changed: each belongs to its ticket's day.  (A new stored row needs none: only the
    # block builder adds them, with the values its block holds.)
    "rb_trace_ins": ("AFTER INSERT ON trace", f"NEW.what IN {HANDOFF_LIST}", [_ticket("NEW.ticket_id")]),
    "rb_trace_upd": ("AFTER UPDATE ON trace", f"OLD.what IN {HANDOFF_LIST} OR NEW.what IN {HANDOFF_LIST}",
                     [_ticket("OLD.ticket_id"), _ticket("NEW.ticket_id")]),
    "rb_trace_del": ("AFTER DELETE ON trace", f"OLD.what IN {HANDOFF_LIST}", [_ticket("OLD.ticket_id")]),
    # A new customer message never precedes an existing reply (ids grow), so only new bot and system ones count.
    "rb_messages_ins": ("AFTER INSERT ON messages", "NEW.author IN ('bot', 'system')", [_ticket("NEW.ticket_id")]),
    "rb_messages_upd": ("AFTER UPDATE OF ticket_id, author, text, meta ON messages", "",
                        [_ticket("OLD.ticket_id"), _ticket("NEW.ticket_id")]),
    "rb_messages_del": ("AFTER DELETE ON messages", "", [_ticket("OLD.ticket_id")]),
    "rb_labels_ins": ("AFTER INSERT ON labels", "NEW.source = 'not_helpful'", [_ticket("NEW.ticket_id")]),
    "rb_labels_upd": ("AFTER UPDATE ON labels", "OLD.source = 'not_helpful' OR NEW.source = 'not_helpful'",
                      [_ticket("OLD.ticket_id"), _ticket("NEW.ticket_id")]),
    "rb_labels_del": ("AFTER DELETE ON labels", "OLD.source = 'not_helpful'", [_ticket("OLD.ticket_id")]),
    "rb_durations_upd": ("AFTER UPDATE ON report_durations", "", [_ticket("OLD.ticket_id"), _ticket("NEW.ticket_id")]),
    "rb_durations_del": ("AFTER DELETE ON report_durations", "", [_ticket("OLD.ticket_id")]),
    "rb_surveys_ins": ("AFTER INSERT ON surveys", "", [_own("surveys", "NEW.answered_at")]),
    "rb_surveys_upd": ("AFTER UPDATE OF answered_at, score, nps, agent_id, department, channel ON surveys", "",
                       [_own("surveys", "OLD.answered_at"), _own("surveys", "NEW.answered_at")]),
    "rb_surveys_del": ("AFTER DELETE ON surveys", "", [_own("surveys", "OLD.answered_at")]),
    "rb_callbacks_ins": ("AFTER INSERT ON callbacks", "", [_own("callbacks", "NEW.slot_start")]),
    "rb_callbacks_upd": ("AFTER UPDATE OF slot_start, status, outcome, assignee_id, ticket_id ON callbacks", "",
                         [_own("callbacks", "OLD.slot_start"), _own("callbacks", "NEW.slot_start")]),
    "rb_callbacks_del": ("AFTER DELETE ON callbacks", "", [_own("callbacks", "OLD.slot_start")]),
}

_PG_DROP = f"""CREATE OR REPLACE FUNCTION rb_drop(src text, d integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF d IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock_shared(hashtext('{LOCK_KEY}' || src), d);
    DELETE FROM report_blocks WHERE source = src AND day = d;
  END IF;
END $$"""


def _days(query: str, dialect: str) -> str:
    return re.sub(r"DAY\(([^)]+)\)", lambda m: day_of(m.group(1), dialect), query)


def statements(name: str, dialect: str) -> list[str]:
    """The SQL that creates one trigger (and on PostgreSQL its function), leaving one that exists as it is."""
    event, when, drops = TRIGGERS[name]
    if dialect == "sqlite":
        body = " ".join(f"DELETE FROM report_blocks WHERE source = '{source}' AND day IN ({_days(q, dialect)});"
                        for source, q in drops)
        return [f"CREATE TRIGGER IF NOT EXISTS {name} {event} {'WHEN ' + when + ' ' if when else ''}BEGIN {body} END"]
    calls = "\n".join(f"  PERFORM rb_drop('{source}', d) FROM ({_days(q, dialect)}) AS x(d);" for source, q in drops)
    table = event.rsplit(" ON ", 1)[1]
    # Dropped and created rather than CREATE OR REPLACE TRIGGER, which PostgreSQL has only from version 14.
    return [f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{calls}\n"
            f"  RETURN NULL;\nEND $$",
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} {event} FOR EACH ROW {'WHEN (' + when + ') ' if when else ''}"
            f"EXECUTE FUNCTION {name}()"]


async def ensure(db: Database) -> None:
    """Create the triggers that are missing (a migration that copies a table drops the triggers on it) and, if any
    was, drop every block: changes made while it was missing were not recorded."""
    dialect = "sqlite" if db.is_sqlite else "postgresql"
    listed = ("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rb_%'" if db.is_sqlite else
              "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'rb_%' AND NOT tgisinternal")
    async with db.read() as conn:
        have = {r[0] for r in (await conn.exec_driver_sql(listed)).all()}
    if have >= TRIGGERS.keys():
        return
    async with db.write() as conn:
        if not db.is_sqlite:
            # Processes starting together would replace the same functions at once.
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": LOCK_KEY + "ddl"})
        for sql in _all(dialect):
            await conn.exec_driver_sql(sql)
        await conn.execute(delete(rb))


def _all(dialect: str) -> list[str]:
    functions = [] if dialect == "sqlite" else [_PG_DROP]
    return [*functions, *(sql for name in TRIGGERS for sql in statements(name, dialect))]


def create(execute: Callable[[str], Any], dialect: str) -> None:
    """Create every trigger with a synchronous `execute` (the migration that adds report_blocks)."""
    for sql in _all(dialect):
        execute(sql)


def around_copies(sync_conn: Any, fn: Callable[[], Any]) -> Any:
    """Run `fn` (SQLite migrations) without the report-block triggers, then create them again and drop every block:
    a table copied and renamed back fails while another table's trigger names it, and what changed meanwhile went
    unrecorded."""
    names = [r[0] for r in sync_conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rb_%'").all()]
    for name in names:
        sync_conn.exec_driver_sql(f"DROP TRIGGER {name}")
    out = fn()
    if sync_conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'report_blocks'").first() is not None:
        create(sync_conn.exec_driver_sql, "sqlite")
        sync_conn.exec_driver_sql("DELETE FROM report_blocks")
    return out
