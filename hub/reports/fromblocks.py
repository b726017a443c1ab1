"""The Reports tab's figures from day blocks (hub/reports/blocks.py), on SQLite: the range's blocks are read (and
the missing ones built), the report's range, filters and "now" applied to their columns, and the same tables
computed as from the direct queries (hub/reports/figures.py), figure for figure."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np

from hub.config import Config
from hub.reports import blockrows, blocks, blocktriggers, groups as G
from hub.reports.blocks import DAY, Merged, micros_of
from hub.reports.figures import (ASSIGNED, COMPLAINT, FR_DECIDED, FR_MET, PASSED, RS_DECIDED, RS_MET, WITH_BOT,
                                 callback_table, counted, satisfaction_table, ticket_tables)
from hub.reports.missed import TOP, _top
from hub.reports.params import ReportQuery
from hub.store.db import Database

class _Range:
    """The blocks of one source over the report's range, with the rows the report counts selected."""

    def __init__(self, m: Merged, q: ReportQuery, at: str, start: int, end: int) -> None:
        self.m, self.q = m, q
        c = m.columns
        sel = (c[at] >= start) & (c[at] < end)
        for name, value in (("dept", q.department), ("channel", q.channel)):
            if value is not None:
                sel &= c[name] == m.code_of(value)
        self.sel = sel
        self.c = {k: v[sel] for k, v in c.items()}

    def grouping(self, at: str) -> G.Grouping:
        col = {"agent": "agent", "department": "dept", "channel": "channel"}.get(self.q.group)
        if col is None:
            return G.Grouping.of_codes(self.q, self.c[at], np.zeros(0, dtype=np.int64), None)
        return G.Grouping.of_codes(self.q, self.c[at], self.c[col], None if col == "agent" else self.m.strings)

    def text(self, name: str, none: Any = None) -> np.ndarray:
        table = np.array([none if s is None else s for s in self.m.strings], dtype=object)
        return table[self.c[name]] if len(self.c[name]) else np.zeros(0, dtype=object)


async def _merged(db: Database, config: Config, source: str, q: ReportQuery, build: Any, now: datetime) -> Merged:
    # A day either side: the day expression rounds to milliseconds, so a row a hair before midnight may sit in the
    # next day's block.
    first = micros_of(q.start) // (DAY * 1_000_000) - 1
    last = (micros_of(q.end) - 1) // (DAY * 1_000_000) + 1
    return await blocks.read(db, config, source, first, last, build, micros_of(now) // (DAY * 1_000_000))


def _flags(r: _Range, now: int) -> np.ndarray:
    c = r.c
    complaint = c["kind"] == r.m.code_of("complaint")
    flags = (np.where(complaint, COMPLAINT, 0) | (c["flags"] & (WITH_BOT | PASSED))
             | np.where(c["agent"] != -1, ASSIGNED, 0))
    targets = (("fr_state", "fr_due", FR_DECIDED, FR_MET), ("rs_state", "rs_due", RS_DECIDED, RS_MET))
    for state, due, decided, met in targets:
        s = c[state]
        flags |= np.where((s >= blockrows.MISSED) | ((s == blockrows.OPEN) & (c[due] < now)), decided, 0)
        flags |= np.where(s == blockrows.MET, met, 0)
    return flags


def _lists(r: _Range) -> dict[str, Any]:
    c = r.c
    kinds: Counter[str] = Counter()
    for code, n in enumerate(np.bincount(c["kind"], minlength=len(r.m.strings)).tolist()):
        if n:
            kinds[r.m.strings[code]] += n
    by_dept: Counter[str] = Counter()
    complaint = c["kind"] == r.m.code_of("complaint")
    for code, n in enumerate(np.bincount(c["dept"][complaint], minlength=len(r.m.strings)).tolist()):
        if n:
            by_dept[r.m.strings[code] or G.NONE] += n  # added, not set: a department may be called "none"
    topics: Counter[str] = Counter()
    for code, n in enumerate(np.bincount(c["topic"][complaint], minlength=len(r.m.strings)).tolist()):
        if n:
            topics[r.m.strings[code]] += n
    return {"complaints_by_department": counted(by_dept, "department"), "tickets_by_kind": counted(kinds, "kind"),
            "complaint_topics": counted(topics, "topic")}


def _missed(r: _Range) -> dict[str, Any]:
    """Missed questions of the selected tickets, counted as missed._top counts them: by folded form, most first
    (ties by the folded form), each shown as its most frequent wording (ties: the first seen), the language of the
    first one seen and its first five tickets, "seen" in the order the direct query gives them."""
    it = r.m.items
    if not len(it.get("row", ())):
        return _top(())
    keep = r.sel[it["row"]]
    it = {k: v[keep] for k, v in it.items()}
    order = np.lexsort((it["o3"], it["o2"], it["o1"], it["what"]))
    it = {k: v[order] for k, v in it.items()}
    counts = np.bincount(it["key"], minlength=len(r.m.strings)) if len(order) else np.zeros(0, dtype=np.int64)
    ranked = sorted(np.flatnonzero(counts).tolist(), key=lambda k: (-counts[k], r.m.strings[k]))[:TOP]
    rows = []
    for k in ranked:
        mine = np.flatnonzero(it["key"] == k)
        texts, first, n = np.unique(it["text"][mine], return_index=True, return_counts=True)
        best = min(range(len(texts)), key=lambda i: (-n[i], first[i]))
        tids: list[int] = []
        for tid in it["tid"][mine].tolist():
            if tid not in tids:
                tids.append(tid)
                if len(tids) == 5:
                    break
        rows.append({"question": r.m.strings[texts[best]], "count": int(counts[k]),
                     "language": r.m.strings[it["lang"][mine[0]]], "tickets": tids})
    return {"columns": ["question", "count", "language", "tickets"], "rows": rows}


async def from_blocks(db: Database, config: Config, q: ReportQuery,
                      now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The sections and lists of a report (figures.figures adds the rest)."""
    await blocktriggers.ensure(db)
    start, end = micros_of(q.start), micros_of(q.end)
    t = _Range(await _merged(db, config, "tickets", q, blockrows.build_tickets, now), q, "created_us", start, end)
    sections = ticket_tables(t.grouping("created_ep"), t.c["first_bt"], t.c["res_bt"], _flags(t, micros_of(now)))
    s = _Range(await _merged(db, config, "surveys", q, blockrows.build_surveys, now), q, "at_us", start, end)
    sections["satisfaction"] = satisfaction_table(s.grouping("at_ep"), s.c["score"], s.c["nps"])
    cb = _Range(await _merged(db, config, "callbacks", q, blockrows.build_callbacks, now), q, "at_us", start, end)
    sections["callbacks"] = callback_table(cb.grouping("at_ep"), cb.text("status"), cb.text("outcome", ""))
    return sections, {**_lists(t), "missed_questions": _missed(t)}
