"""Day blocks: what a report needs of each UTC day's tickets, survey answers and callbacks, kept packed in
`report_blocks` so that a year's report reads 365 rows per source instead of 100,000.

A block is one source's rows of one UTC day (tickets by creation, answers by `answered_at`, callbacks by slot) as
numpy columns: times, group keys, codes, the SLA state independent of "now", business-hours durations; plus, for
tickets, the missed questions and complaint topics.  Nothing in a block depends on the report's time zone, grouping,
filters or "now": those are applied to the columns.  A block is valid while

- no row it was built from changed: triggers (hub/reports/blocktriggers.py, kept in place by the reports) delete
  the blocks of the days a changed row belongs to, in the transaction of the change, whoever makes it;
- the business hours it was computed with are the configured ones (`calendar` holds their digest).

Missing blocks are built by the report inside one write transaction per batch of days.  SQLite runs one writer at
a time, so nothing can change between reading the rows and storing the block.  PostgreSQL runs writers
concurrently: there a block is stored only under an advisory lock that every writer's trigger takes in shared mode
(`read`, blocktriggers).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Config
from hub.reports import durations
from hub.reports.blocktriggers import LOCK_KEY
from hub.store.db import Database
from hub.store.schema import report_blocks as rb
from routing.sla import calendar_for
SOURCES = ("tickets", "surveys", "callbacks")
DAY = 86400
BATCH_DAYS = 20  # days built per write transaction: a cold year holds the writer ~19 times, briefly each
# Part of the digest: raised whenever what a block holds or how it is computed changes, so old blocks are rebuilt.
FORMAT = "1"
EPOCH = datetime(1970, 1, 1)
US = timedelta(microseconds=1)


def digest(config: Config) -> str:
    """What every block depends on besides its rows: the business hours of each department (durations)."""
    names = sorted({d.name for d in config.departments})
    sigs = [durations.signature(calendar_for(config, None).hours)]
    sigs += [f"{n}={durations.signature(calendar_for(config, n).hours)}" for n in names]
    return hashlib.sha256(f"{FORMAT}:{durations.METHOD}:{'|'.join(sigs)}".encode()).hexdigest()[:32]


def _naive(raw: Any) -> Any:
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; asyncpg gives aware datetimes.
    return raw.astimezone(timezone.utc).replace(tzinfo=None) if isinstance(raw, datetime) else raw


def micros(raw: Any) -> int:
    """A stored time as whole microseconds since 1970: exact, so comparisons give what the database's comparisons
    of the same values give."""
    value = _naive(raw)
    return ((value if isinstance(value, datetime) else datetime.fromisoformat(value)) - EPOCH) // US


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


async def read(db: Database, config: Config, source: str, first: int, last: int, build: Any,
               today: int) -> Merged:
    """The blocks of days first..last (UTC day numbers) merged, building those missing with
    `build(conn, config, days, kept)` -> {day: Block} inside write transactions, BATCH_DAYS days each; `kept`, the
    days whose blocks will be stored, is where the builder may store what it computed besides.

    On PostgreSQL a block is stored only under its advisory lock, taken without waiting (a writer holding its
    shared side is changing the block's rows: the block is built for this report and not kept), and never for
    the last two days (`today` and the day before), whose blocks change with nearly every write: writers would
    wait for the lock, and the next change would drop them anyway."""
    sig = digest(config)
    async with db.read() as conn:
        rows = (await conn.execute(select(rb.c.day, rb.c.strings, rb.c.data, rb.c.questions).where(and_(
            rb.c.source == source, rb.c.day >= first, rb.c.day <= last, rb.c.calendar == sig)))).all()
    have: dict[int, tuple[str, bytes, bytes]] = {r[0]: (r[1], r[2], r[3]) for r in rows}
    missing = [d for d in range(first, last + 1) if d not in have]
    for lo in range(0, len(missing), BATCH_DAYS):
        days = missing[lo:lo + BATCH_DAYS]
        async with db.write() as conn:
            kept = days if db.is_sqlite else await _lock(conn, source, [d for d in days if d < today - 1])
            built = {day: b.encode(source) for day, b in (await build(conn, config, days, set(kept))).items()}
            await _store(conn, source, sig, {d: built[d] for d in kept})
        have.update(built)
    return Merged.of(source, [have[d] for d in range(first, last + 1)])


async def _lock(conn: AsyncConnection, source: str, days: list[int]) -> list[int]:
    """The days whose advisory lock this transaction got (PostgreSQL), before anything is read."""
    if not days:
        return []
    got = await conn.execute(text("SELECT d FROM unnest(CAST(:days AS integer[])) AS x(d) "
                                  "WHERE pg_try_advisory_xact_lock(hashtext(:k), d) ORDER BY d"),
                             {"days": days, "k": LOCK_KEY + source})
    return [r[0] for r in got.all()]


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
