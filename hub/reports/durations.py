"""Tickets' first response and resolution times in business seconds, kept in `report_durations` so that a report
reads them instead of walking calendars for every ticket again.

Filled lazily by the reports themselves, never on the message path: a report joins each ticket to its stored row
only where the row was computed from the ticket's current creation, first response and resolution times,
department and calendar (`calendar`: a digest of the business hours the department uses).  Rows missing or stale
(a reopened ticket resolved again, a transfer, edited business hours) are computed at report time exactly as
before (same epoch expressions, same `OpenTime`) and written back after the report has read everything, in small
transactions so that customer intake never waits long behind them.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
from sqlalchemy import and_, case, column, literal, select, table, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType

from hub.config import BusinessHours, Config
from hub.reports.opentime import OpenTime, span
from hub.reports.sql import epoch
from hub.store.db import Database
from hub.store.schema import report_durations as rd, tickets
from routing.sla import calendar_for

log = logging.getLogger(__name__)
CHUNK = 5000  # ids per read of missing rows
BATCH = 2000  # rows per write transaction: a cold year of 100,000 tickets holds the writer 50 times, briefly


# Part of every calendar digest: raised when the way durations are computed changes, so stored rows are redone.
METHOD = "1"


def signature(hours: BusinessHours) -> str:
    return hashlib.sha256(f"{METHOD}:{hours.model_dump_json()}".encode()).hexdigest()[:32]


def calendar_of(config: Config, department: Any) -> Any:
    """The digest of the calendar each ticket's department uses, as a column expression (departments without hours
    of their own, unknown ones and none use the global business hours)."""
    default = signature(calendar_for(config, None).hours)
    own = {d.name: signature(calendar_for(config, d.name).hours) for d in config.departments}
    own = {name: sig for name, sig in own.items() if sig != default}
    if not own:
        return literal(default)
    return case(*((department == name, sig) for name, sig in own.items()), else_=default)


def fresh() -> Any:
    """The join of tickets to their stored durations, matching only rows still computed from the ticket as it is."""
    t = tickets.c
    return and_(rd.c.ticket_id == t.id, rd.c.created_at == t.created_at,
                rd.c.first_response_at.is_not_distinct_from(t.first_response_at),
                rd.c.resolved_at.is_not_distinct_from(t.resolved_at),
                rd.c.department.is_not_distinct_from(t.department))


def joined(config: Config) -> Any:
    return tickets.outerjoin(rd, and_(fresh(), rd.c.calendar == calendar_of(config, tickets.c.department)))


def business(config: Config, dept: np.ndarray, start: np.ndarray, *ends: np.ndarray) -> list[np.ndarray]:
    """Open seconds between start and each end per row, on the calendar of the row's department (as its SLA): one
    OpenTime per calendar serves every end."""
    outs = [np.full(len(start), np.nan) for _ in ends]
    finite = np.concatenate([end[~np.isnan(end)] for end in ends])
    if not len(finite):
        return outs
    since, until = span(float(np.nanmin(start)), float(finite.max()))
    calendars: dict[int, tuple[Any, list[Any]]] = {}
    for name in set(dept.tolist()):
        cal = calendar_for(config, name)
        calendars.setdefault(id(cal), (cal, []))[1].append(name)
    for cal, names in calendars.values():
        wanted = set(names)
        ix = np.array([x in wanted for x in dept.tolist()], dtype=bool) if len(calendars) > 1 else slice(None)
        hours = OpenTime(cal, since, until)
        for out, end in zip(outs, ends):
            out[ix] = hours.between(start[ix], end[ix])
    return outs


# The table as plain columns: the stored times are copied as the driver gives them (text on SQLite, timestamps on
# PostgreSQL), never parsed into datetimes and formatted back, which was most of a cold report's time and could
# only make the copy differ from the ticket's value.
_COPIED = ("created_at", "first_response_at", "resolved_at", "department", "calendar", "first_response_bs",
           "resolution_bs")
_raw = table("report_durations", column("ticket_id"), *(column(c) for c in _COPIED))


class Missing:
    """The durations of the tickets in a report's range that had no valid stored row, computed now."""

    def __init__(self) -> None:
        self.by_id: dict[int, tuple[float, float]] = {}
        self.rows: list[dict[str, Any]] = []

    async def compute(self, conn: AsyncConnection, config: Config, in_range: Any, ids: list[int]) -> None:
        """Durations for the report's tickets without valid stored ones (`ids`), from the tickets as they are now.
        On PostgreSQL another report may have stored some of them since the report's own query: those are read
        by id."""
        d, t = conn.dialect.name, tickets.c
        raw = lambda c: type_coerce(c, NullType())  # noqa: E731
        cols = (t.id, t.department, raw(t.created_at), raw(t.first_response_at), raw(t.resolved_at),
                epoch(t.created_at, d), epoch(t.first_response_at, d), epoch(t.resolved_at, d))
        found = list((await conn.execute(select(*cols).select_from(joined(config))
                                         .where(and_(in_range, rd.c.ticket_id.is_(None))))).all())
        left = sorted(set(ids) - {r[0] for r in found})
        for lo in range(0, len(left), CHUNK):
            found += (await conn.execute(select(*cols).where(t.id.in_(left[lo:lo + CHUNK])))).all()
        if not found:
            return
        num = lambda i: np.array([r[i] for r in found], dtype=np.float64)  # noqa: E731 (None becomes NaN)
        dept = np.array([r[1] for r in found], dtype=object)
        first, res = business(config, dept, num(5), num(6), num(7))
        sigs = {name: signature(calendar_for(config, name).hours) for name in set(dept.tolist())}
        for r, f, s in zip(found, first.tolist(), res.tolist()):
            self.by_id[r[0]] = (f, s)
            self.rows.append({"ticket_id": r[0], "created_at": r[2], "first_response_at": r[3], "resolved_at": r[4],
                              "department": r[1], "calendar": sigs[r[1]],
                              "first_response_bs": None if f != f else f, "resolution_bs": None if s != s else s})

    def patch(self, ids: np.ndarray, first: np.ndarray, res: np.ndarray) -> None:
        """Fill the report's duration columns where its rows had no stored durations (`ids` set there)."""
        for i in np.flatnonzero(ids != None).tolist():  # noqa: E711 (element-wise)
            first[i], res[i] = self.by_id.get(ids[i], (np.nan, np.nan))  # deleted meanwhile: as no time

    @staticmethod
    def _upsert(sqlite: bool) -> Any:
        ins = (sqlite_insert if sqlite else pg_insert)(_raw)
        return ins.on_conflict_do_update(index_elements=["ticket_id"], set_={c: ins.excluded[c] for c in _COPIED})

    async def store_in(self, conn: AsyncConnection) -> None:
        """Keep what was computed, in the caller's write transaction (day blocks: hub/reports/blocks.py)."""
        if not self.rows:
            return
        if conn.dialect.name != "sqlite":
            await conn.execute(self._upsert(False), self.rows)
            return
        # On SQLite as plain tuples: SQLAlchemy's handling of 100,000 parameter sets was half a cold year's cost.
        cols = ("ticket_id", *_COPIED)
        await conn.exec_driver_sql(
            f"INSERT INTO report_durations ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
            f"ON CONFLICT (ticket_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _COPIED)}",
            [tuple(r[c] for c in cols) for r in self.rows])

    async def store(self, db: Database) -> None:
        """Keep what was computed.  A failure costs only the next report's time, so it is logged, not raised."""
        stmt = self._upsert(db.is_sqlite)
        try:
            for lo in range(0, len(self.rows), BATCH):
                async with db.write() as conn:
                    await conn.execute(stmt, self.rows[lo:lo + BATCH])
        except Exception:  # noqa: BLE001 (a ticket deleted meanwhile, a busy database: the next report retries)
            log.warning("report durations not stored for %d tickets", len(self.rows), exc_info=True)
