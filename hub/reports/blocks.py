"""Day blocks: what a report needs of each UTC day's tickets, survey answers and callbacks, kept packed in
`report_blocks` so that a year's report reads 365 rows per source instead of 100,000 (SQLite).

A block is one source's rows of one UTC day (tickets by creation, answers by `answered_at`, callbacks by slot) as
numpy columns: times, group keys, codes, the SLA state independent of "now", business-hours durations; plus, for
tickets, the missed questions and complaint topics.  Nothing in a block depends on the report's time zone, grouping,
filters or "now": those are applied to the columns.  A block is valid while

- no row it was built from changed: triggers (`TRIGGERS`, kept in place by `ensure_triggers`) delete the blocks of
  the days a changed row belongs to, in the transaction of the change, whoever makes it;
- the business hours it was computed with are the configured ones (`calendar` holds their digest).

Missing blocks are built by the report inside one write transaction per batch of days: SQLite runs one writer at a
time, so nothing can change between reading the rows and storing the block.  PostgreSQL runs writers concurrently,
and a block built there could miss a change committed between its read and its write; reports on PostgreSQL read
the tables directly (hub/reports/figures.py).
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Config
from hub.reports import durations
from hub.store.db import Database
from hub.store.schema import report_blocks as rb
from routing.sla import calendar_for

log = logging.getLogger(__name__)
SOURCES = ("tickets", "surveys", "callbacks")
DAY = 86400
BATCH_DAYS = 20  # days built per write transaction: a cold year holds the writer ~19 times, briefly each
# Part of the digest: raised whenever what a block holds or how it is computed changes, so old blocks are rebuilt.
FORMAT = "1"
EPOCH = datetime(1970, 1, 1)
US = timedelta(microseconds=1)


def day_of(col: str) -> str:
    """The UTC day number (days since 1970-01-01) of a stored time, in SQL: the same expression in the triggers and
    the builders, so a row is always looked for in the block its change invalidates."""
    return f"CAST(julianday({col}) - 2440587.5 AS INTEGER)"


def _tickets_day(ticket_id: str) -> str:
    return f"(SELECT {day_of('created_at')} FROM tickets WHERE id = {ticket_id})"


def _drop(source: str, *days: str) -> str:
    return f"DELETE FROM report_blocks WHERE source = '{source}' AND day IN ({', '.join(days)});"


# Columns of tickets the ticket blocks are built from (an UPDATE setting none of them leaves the blocks alone).
_TICKET_COLS = ("created_at", "department", "kind", "channel", "language", "assignee_id", "tags", "first_response_due",
                "resolution_due", "first_response_at", "resolved_at", "breached", "bot_state")
_MISS_AUTHORS = "('bot', 'system')"
_HANDOFF = "('handoff', 'escalated')"

# name -> (event, WHEN condition or "", body)
TRIGGERS: dict[str, tuple[str, str, str]] = {
    "rb_tickets_ins": ("AFTER INSERT ON tickets", "", _drop("tickets", day_of("NEW.created_at"))),
    "rb_tickets_upd": (f"AFTER UPDATE OF {', '.join(_TICKET_COLS)} ON tickets", "",
                       _drop("tickets", day_of("OLD.created_at"), day_of("NEW.created_at"))),
    "rb_tickets_del": ("AFTER DELETE ON tickets", "", _drop("tickets", day_of("OLD.created_at"))),
    # A callback is grouped and filtered by its ticket's department and channel.
    "rb_tickets_cb": ("AFTER UPDATE OF department, channel ON tickets", "",
                      _drop("callbacks", f"SELECT {day_of('slot_start')} FROM callbacks WHERE ticket_id = NEW.id")),
    # Handoffs (bot figures, missed questions), the bot's replies and the customer messages before them, not-helpful
    # labels, stored durations changed: each belongs to its ticket's day.  (A new stored row needs none: only the
    # block builder adds them, with the values its block holds.)
    "rb_trace_ins": ("AFTER INSERT ON trace", f"NEW.what IN {_HANDOFF}",
                     _drop("tickets", _tickets_day("NEW.ticket_id"))),
    "rb_trace_upd": ("AFTER UPDATE ON trace", f"OLD.what IN {_HANDOFF} OR NEW.what IN {_HANDOFF}",
                     _drop("tickets", _tickets_day("OLD.ticket_id"), _tickets_day("NEW.ticket_id"))),
    "rb_trace_del": ("AFTER DELETE ON trace", f"OLD.what IN {_HANDOFF}",
                     _drop("tickets", _tickets_day("OLD.ticket_id"))),
    # A new customer message never precedes an existing reply (ids grow), so only new bot and system ones count.
    "rb_messages_ins": ("AFTER INSERT ON messages", f"NEW.author IN {_MISS_AUTHORS}",
                        _drop("tickets", _tickets_day("NEW.ticket_id"))),
    "rb_messages_upd": ("AFTER UPDATE OF ticket_id, author, text, meta ON messages", "",
                        _drop("tickets", _tickets_day("OLD.ticket_id"), _tickets_day("NEW.ticket_id"))),
    "rb_messages_del": ("AFTER DELETE ON messages", "", _drop("tickets", _tickets_day("OLD.ticket_id"))),
    "rb_labels_ins": ("AFTER INSERT ON labels", "NEW.source = 'not_helpful'",
                      _drop("tickets", _tickets_day("NEW.ticket_id"))),
    "rb_labels_upd": ("AFTER UPDATE ON labels", "OLD.source = 'not_helpful' OR NEW.source = 'not_helpful'",
                      _drop("tickets", _tickets_day("OLD.ticket_id"), _tickets_day("NEW.ticket_id"))),
    "rb_labels_del": ("AFTER DELETE ON labels", "OLD.source = 'not_helpful'",
                      _drop("tickets", _tickets_day("OLD.ticket_id"))),
    "rb_durations_upd": ("AFTER UPDATE ON report_durations", "",
                         _drop("tickets", _tickets_day("OLD.ticket_id"), _tickets_day("NEW.ticket_id"))),
    "rb_durations_del": ("AFTER DELETE ON report_durations", "", _drop("tickets", _tickets_day("OLD.ticket_id"))),
    "rb_surveys_ins": ("AFTER INSERT ON surveys", "", _drop("surveys", day_of("NEW.answered_at"))),
    "rb_surveys_upd": ("AFTER UPDATE OF answered_at, score, nps, agent_id, department, channel ON surveys", "",
                       _drop("surveys", day_of("OLD.answered_at"), day_of("NEW.answered_at"))),
    "rb_surveys_del": ("AFTER DELETE ON surveys", "", _drop("surveys", day_of("OLD.answered_at"))),
    "rb_callbacks_ins": ("AFTER INSERT ON callbacks", "", _drop("callbacks", day_of("NEW.slot_start"))),
    "rb_callbacks_upd": ("AFTER UPDATE OF slot_start, status, outcome, assignee_id, ticket_id ON callbacks", "",
                         _drop("callbacks", day_of("OLD.slot_start"), day_of("NEW.slot_start"))),
    "rb_callbacks_del": ("AFTER DELETE ON callbacks", "", _drop("callbacks", day_of("OLD.slot_start"))),
}


def trigger_sql(name: str) -> str:
    event, when, body = TRIGGERS[name]
    return f"CREATE TRIGGER IF NOT EXISTS {name} {event} {'WHEN ' + when + ' ' if when else ''}BEGIN {body} END"


async def ensure_triggers(db: Database) -> None:
    """Create the triggers that are missing (a migration that copies a table drops the triggers on it) and, if any
    was, drop every block: changes made while it was missing were not recorded."""
    async with db.read() as conn:
        have = {r[0] for r in (await conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rb_%'")).all()}
    if have >= TRIGGERS.keys():
        return
    async with db.write() as conn:
        for name in TRIGGERS:
            await conn.exec_driver_sql(trigger_sql(name))
        await conn.execute(delete(rb))


def digest(config: Config) -> str:
    """What every block depends on besides its rows: the business hours of each department (durations)."""
    names = sorted({d.name for d in config.departments})
    sigs = [durations.signature(calendar_for(config, None).hours)]
    sigs += [f"{n}={durations.signature(calendar_for(config, n).hours)}" for n in names]
    return hashlib.sha256(f"{FORMAT}:{durations.METHOD}:{'|'.join(sigs)}".encode()).hexdigest()[:32]


def micros(raw: Any) -> int:
    """A stored time as whole microseconds since 1970 (SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC): exact,
    so comparisons give what the database's comparisons of the same values give."""
    return (datetime.fromisoformat(raw) - EPOCH) // US


def micros_array(raw: Sequence[Any]) -> np.ndarray:
    """`micros` of many stored times at once (numpy parses the text); None becomes NAT."""
    return np.array(raw, dtype="datetime64[us]").astype(np.int64) if len(raw) else np.zeros(0, dtype=np.int64)


NAT = np.iinfo(np.int64).min  # no time (numpy's NaT as an integer)


def micros_of(moment: datetime) -> int:
    return (moment.astimezone(timezone.utc).replace(tzinfo=None) - EPOCH) // US


# Each source's columns as stored: one little-endian record per row, so a block reads back with one frombuffer.
DTYPES = {
    "tickets": np.dtype([("created_us", "<i8"), ("created_ep", "<f8"), ("agent", "<i8"), ("dept", "<i4"),
                         ("channel", "<i4"), ("kind", "<i4"), ("flags", "<i4"), ("fr_state", "<i4"),
                         ("rs_state", "<i4"),
                         ("fr_due", "<i8"), ("rs_due", "<i8"), ("first_bt", "<f8"), ("res_bt", "<f8"), ("topic", "<i4"),
                         ("id", "<i8")]),
    "surveys": np.dtype([("at_us", "<i8"), ("at_ep", "<f8"), ("score", "<f8"), ("nps", "<f8"), ("agent", "<i8"),
                         ("dept", "<i4"), ("channel", "<i4")]),
    "callbacks": np.dtype([("at_us", "<i8"), ("at_ep", "<f8"), ("status", "<i4"), ("outcome", "<i4"), ("agent", "<i8"),
                           ("dept", "<i4"), ("channel", "<i4")]),
}
# The missed questions of a ticket block, one record each: the ticket's row in the block, the order the direct query
# gives them in (what 0: a bot miss, by ticket and message; what 1: an unhelpful answer, by the ticket's creation,
# ticket and label), the ticket, and codes of the question (stripped), its language and its folded form.
ITEMS = np.dtype([("row", "<i8"), ("what", "<i8"), ("o1", "<i8"), ("o2", "<i8"), ("o3", "<i8"), ("tid", "<i8"),
                  ("text", "<i4"), ("lang", "<i4"), ("key", "<i4")])
# Codes into the block's strings (-1: no value, as the topic of a ticket that is no complaint).
TEXT_COLUMNS = ("dept", "channel", "kind", "topic", "status", "outcome", "text", "lang", "key")


@dataclass
class Block:
    """One source's rows of one day: numeric columns, with text values as codes into `strings`, and for tickets
    the missed questions (`items`, ITEMS' columns)."""

    columns: dict[str, np.ndarray]
    strings: list[str | None] = field(default_factory=list)
    items: dict[str, np.ndarray] | None = None

    def encode(self, source: str) -> tuple[str, bytes, bytes]:
        """The block as stored: its strings (JSON), its rows and its missed questions (packed records)."""
        items = _pack(ITEMS, self.items) if self.items is not None else np.zeros(0, dtype=ITEMS)
        rows = _pack(DTYPES[source], self.columns)
        return json.dumps(self.strings, ensure_ascii=False), rows.tobytes(), items.tobytes()


def _pack(dtype: np.dtype, columns: dict[str, np.ndarray]) -> np.ndarray:
    n = len(next(iter(columns.values()))) if columns else 0
    table = np.zeros(n, dtype=dtype)
    for name in dtype.names or ():
        table[name] = columns[name]
    return table


class Codes:
    """Text values numbered within a block (None included), -1 never used."""

    def __init__(self) -> None:
        self.index: dict[str | None, int] = {}

    def __call__(self, value: str | None) -> int:
        return self.index.setdefault(value, len(self.index))

    def of(self, values: Sequence[str | None]) -> np.ndarray:
        """The codes of a column (one dict look-up per row, none of them a Python call)."""
        known = {v: self(v) for v in dict.fromkeys(values)}
        return np.fromiter(map(known.__getitem__, values), dtype=np.int64, count=len(values))

    @property
    def strings(self) -> list[str | None]:
        return list(self.index)


@dataclass
class Merged:
    """The blocks of a range put together: each column concatenated, text codes renumbered into one `strings`;
    `items` the missed questions, their `row` counted over all blocks."""

    columns: dict[str, np.ndarray]
    strings: list[str | None]
    items: dict[str, np.ndarray]

    @classmethod
    def of(cls, source: str, stored: Sequence[tuple[str, bytes, bytes]]) -> Merged:
        dtype = DTYPES[source]
        # One copy of all rows, one frombuffer: concatenating a structured array per block costs far more.
        rows = np.frombuffer(b"".join(data for _, data, _ in stored), dtype=dtype)
        items = np.frombuffer(b"".join(extra for _, _, extra in stored), dtype=ITEMS)
        lengths = np.array([len(data) // dtype.itemsize for _, data, _ in stored], dtype=np.int64)
        n_items = np.array([len(extra) // ITEMS.itemsize for _, _, extra in stored], dtype=np.int64)
        codes = Codes()
        # Per block its strings' global codes and a last entry -1, all blocks in one array at `bases` (blocks built
        # together share one list of strings: each distinct list is read and numbered once).
        lists: dict[str, tuple[int, int]] = {}
        remap: list[int] = []
        sizes, bases = [], []
        for strings, _, _ in stored:
            if strings not in lists:
                values = json.loads(strings)
                lists[strings] = (len(remap), len(values))
                remap += [*(codes(x) for x in values), -1]
            base, size = lists[strings]
            bases.append(base)
            sizes.append(size)
        table = np.array(remap, dtype=np.int64)
        size, base = np.array(sizes, dtype=np.int64), np.array(bases, dtype=np.int64)

        def columns(data: np.ndarray, per_block: np.ndarray) -> dict[str, np.ndarray]:
            block = np.repeat(np.arange(len(stored)), per_block)
            out = {}
            for name in data.dtype.names or ():
                col = data[name]
                if name in TEXT_COLUMNS and len(col):
                    col = table[base[block] + np.where(col < 0, size[block], col)]
                out[name] = np.ascontiguousarray(col)
            return out

        missed = columns(items, n_items)
        if len(items):
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            missed["row"] = missed["row"] + np.repeat(offsets, n_items)
        return cls(columns(rows, lengths), codes.strings, missed)

    def code_of(self, value: str | None) -> int:
        """The code of a text value, -1 when no row has it."""
        try:
            return self.strings.index(value)
        except ValueError:
            return -1


async def read(db: Database, config: Config, source: str, first: int, last: int, build: Any) -> Merged:
    """The blocks of days first..last (UTC day numbers) merged, building those missing with
    `build(conn, config, days)` -> {day: Block} inside write transactions, BATCH_DAYS days each."""
    sig = digest(config)
    async with db.read() as conn:
        rows = (await conn.execute(select(rb.c.day, rb.c.strings, rb.c.data, rb.c.questions).where(and_(
            rb.c.source == source, rb.c.day >= first, rb.c.day <= last, rb.c.calendar == sig)))).all()
    have: dict[int, tuple[str, bytes, bytes]] = {r[0]: (r[1], r[2], r[3]) for r in rows}
    missing = [d for d in range(first, last + 1) if d not in have]
    for lo in range(0, len(missing), BATCH_DAYS):
        days = missing[lo:lo + BATCH_DAYS]
        async with db.write() as conn:
            built = {day: b.encode(source) for day, b in (await build(conn, config, days)).items()}
            await _store(conn, source, sig, built)
        have.update(built)
    return Merged.of(source, [have[d] for d in range(first, last + 1)])


async def _store(conn: AsyncConnection, source: str, sig: str, blocks: dict[int, tuple[str, bytes, bytes]]) -> None:
    await conn.execute(delete(rb).where(and_(rb.c.source == source, rb.c.day.in_(list(blocks)))))
    rows = [{"source": source, "day": day, "calendar": sig, "strings": strings, "data": data, "questions": items}
            for day, (strings, data, items) in blocks.items()]
    if rows:
        await conn.execute(rb.insert(), rows)


def span(days: Sequence[int]) -> tuple[datetime, datetime, str]:
    """An indexed time range a second wider than the days each side (the day expression rounds to milliseconds)
    and the SQL test that keeps the rows whose day is one of `days`."""
    lo = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=min(days), seconds=-1)
    hi = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=max(days) + 1, seconds=1)
    return lo, hi, ", ".join(str(int(d)) for d in days)
