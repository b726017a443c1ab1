"""The Reports tab's figures for a date range: response and resolution times in business hours, SLA attainment,
satisfaction (CSAT, NPS), complaints, the bot's answered and handed-off conversations with the questions it missed,
and callbacks; each grouped by day, week, agent, department or channel.

Tickets count in the range they were created in, survey answers when they were answered, callbacks by their booked
slot.  Each table reads an indexed range and fetches only numbers and short strings; grouping and percentiles run
in numpy.
"""
from __future__ import annotations

import time as _time
from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Config
from hub.reports import groups as G
from hub.reports.missed import missed_questions, topics
from hub.reports.opentime import OpenTime, span
from hub.reports.params import ReportQuery
from hub.reports.sql import as_text, epoch
from hub.store.db import Database
from hub.store.schema import agents, callbacks, surveys, tickets, trace
from routing.sla import calendar_for

COLUMNS = {
    "volume": ["tickets", "first_responses", "first_response_median", "first_response_p90", "resolved",
               "resolution_median", "resolution_p90"],
    "sla": ["first_response_total", "first_response_met", "first_response_pct", "resolution_total", "resolution_met",
            "resolution_pct"],
    "satisfaction": ["responses", "csat_pct", "csat_avg", "nps_responses", "promoters", "detractors", "nps"],
    "complaints": ["tickets", "complaints", "complaint_pct"],
    "bot": ["handled", "answered", "handed_off", "answered_pct"],
    "callbacks": ["booked", "reached", "no_answer", "wrong_number", "unreachable", "cancelled", "open", "reached_pct"],
}


OPEN_CALLBACK = ["scheduled", "due", "claimed"]


def _filters(q: ReportQuery) -> list[Any]:
    conds = []
    if q.department:
        conds.append(tickets.c.department == q.department)
    if q.channel:
        conds.append(tickets.c.channel == q.channel)
    return conds


async def _tickets(conn: AsyncConnection, q: ReportQuery) -> list[Any]:
    d = conn.dialect.name
    stmt = select(
        tickets.c.id, tickets.c.department, tickets.c.channel, tickets.c.assignee_id, tickets.c.kind,
        epoch(tickets.c.created_at, d).label("created"), epoch(tickets.c.first_response_at, d).label("first"),
        epoch(tickets.c.resolved_at, d).label("resolved"), epoch(tickets.c.first_response_due, d).label("first_due"),
        epoch(tickets.c.resolution_due, d).label("resolution_due"), as_text(tickets.c.breached).label("breached"),
        as_text(tickets.c.bot_state).label("bot_state"), as_text(tickets.c.tags).label("tags"),
    ).where(and_(tickets.c.created_at >= q.start, tickets.c.created_at < q.end, *_filters(q)))
    return list((await conn.execute(stmt)).all())


async def _handoffs(conn: AsyncConnection, q: ReportQuery) -> set[int]:
    stmt = (select(trace.c.ticket_id).join(tickets, tickets.c.id == trace.c.ticket_id)
            .where(and_(trace.c.what.in_(("handoff", "escalated")), tickets.c.created_at >= q.start, tickets.c.created_at < q.end, *_filters(q))))
    return set((await conn.execute(stmt)).scalars().all())


def _floats(rows: list[Any], name: str) -> np.ndarray:
    return np.array([np.nan if getattr(r, name) is None else getattr(r, name) for r in rows], dtype=np.float64)


def _business(config: Config, rows: list[Any], start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Open seconds between start and end per row, on the calendar of the row's department (as its SLA)."""
    out = np.full(len(rows), np.nan)
    finite = end[~np.isnan(end)]
    if not len(finite):
        return out
    since, until = span(float(np.nanmin(start)), float(finite.max()))
    by_cal: dict[int, tuple[Any, list[int]]] = {}
    for i, r in enumerate(rows):
        cal = calendar_for(config, r.department)
        by_cal.setdefault(id(cal), (cal, []))[1].append(i)
    for cal, idx in by_cal.values():
        ix = np.array(idx)
        out[ix] = OpenTime(cal, since, until).between(start[ix], end[ix])
    return out


def _ticket_tables(q: ReportQuery, config: Config, rows: list[Any], handoffs: set[int], now: float) -> dict[str, Any]:
    n = len(rows)
    created, first, resolved = _floats(rows, "created"), _floats(rows, "first"), _floats(rows, "resolved")
    first_due, res_due = _floats(rows, "first_due"), _floats(rows, "resolution_due")
    first_bt = _business(config, rows, created, first)
    res_bt = _business(config, rows, created, resolved)
    breached = [r.breached or "" for r in rows]
    # Decided targets only: met (answered by the deadline, no breach recorded) or missed (late, breached, or still
    # open past the deadline); a ticket still inside its deadline counts in neither.
    fr_decided = ~np.isnan(first_due) & (~np.isnan(first) | (first_due < now))
    fr_met = fr_decided & ~np.isnan(first) & (first <= first_due) & np.array(["first_response" not in b for b in breached])
    rs_decided = ~np.isnan(res_due) & (~np.isnan(resolved) | (res_due < now))
    rs_met = rs_decided & ~np.isnan(resolved) & (resolved <= res_due) & np.array(["resolution" not in b for b in breached])
    complaint = np.array([r.kind == "complaint" for r in rows], dtype=bool)
    passed = np.array([r.id in handoffs for r in rows], dtype=bool)
    handled = passed | np.array([(r.bot_state or "{}").strip() not in ("{}", "null", "") for r in rows], dtype=bool)
    # Handed off: the bot passed it to the queue, an escalation took it from the bot, or an agent holds it.
    handoff = passed | np.array([r.assignee_id is not None for r in rows], dtype=bool)
    k = G.keys(q, created, [r.assignee_id for r in rows], [r.department for r in rows], [r.channel for r in rows])

    def volume(ix: np.ndarray) -> dict[str, Any]:
        f, r = first_bt[ix], res_bt[ix]
        return {"tickets": int(len(ix)), "first_responses": int((~np.isnan(f)).sum()),
                "first_response_median": G.quantile(f, 0.5), "first_response_p90": G.quantile(f, 0.9),
                "resolved": int((~np.isnan(r)).sum()), "resolution_median": G.quantile(r, 0.5),
                "resolution_p90": G.quantile(r, 0.9)}

    def sla(ix: np.ndarray) -> dict[str, Any]:
        a, b, c, d = int(fr_decided[ix].sum()), int(fr_met[ix].sum()), int(rs_decided[ix].sum()), int(rs_met[ix].sum())
        return {"first_response_total": a, "first_response_met": b, "first_response_pct": G.pct(b, a),
                "resolution_total": c, "resolution_met": d, "resolution_pct": G.pct(d, c)}

    def complaints(ix: np.ndarray) -> dict[str, Any]:
        c = int(complaint[ix].sum())
        return {"tickets": int(len(ix)), "complaints": c, "complaint_pct": G.pct(c, len(ix))}

    def bot(ix: np.ndarray) -> dict[str, Any]:
        h, off = int(handled[ix].sum()), int((handled & handoff)[ix].sum())
        return {"handled": h, "answered": h - off, "handed_off": off, "answered_pct": G.pct(h - off, h)}

    return {name: G.table(q, k, fn, n) for name, fn in
            (("volume", volume), ("sla", sla), ("complaints", complaints), ("bot", bot))}


async def _satisfaction(conn: AsyncConnection, q: ReportQuery) -> dict[str, Any]:
    d = conn.dialect.name
    stmt = select(surveys.c.score, surveys.c.nps, surveys.c.agent_id, surveys.c.department, surveys.c.channel,
                  epoch(surveys.c.answered_at, d).label("answered")).where(
        and_(surveys.c.answered_at >= q.start, surveys.c.answered_at < q.end, surveys.c.score.is_not(None)))
    if q.department:
        stmt = stmt.where(surveys.c.department == q.department)
    if q.channel:
        stmt = stmt.where(surveys.c.channel == q.channel)
    rows = (await conn.execute(stmt)).all()
    score = np.array([r.score for r in rows], dtype=np.float64)
    nps = np.array([np.nan if r.nps is None else r.nps for r in rows], dtype=np.float64)
    k = G.keys(q, np.array([r.answered for r in rows], dtype=np.float64), [r.agent_id for r in rows],
               [r.department for r in rows], [r.channel for r in rows])

    def row(ix: np.ndarray) -> dict[str, Any]:
        s, p = score[ix], nps[ix]
        p = p[~np.isnan(p)]
        promoters, detractors = int((p >= 9).sum()), int((p <= 6).sum())
        return {"responses": int(len(s)), "csat_pct": G.pct(int((s >= 4).sum()), len(s)),
                "csat_avg": round(float(s.mean()), 2) if len(s) else None, "nps_responses": int(len(p)),
                "promoters": promoters, "detractors": detractors,
                "nps": round(100.0 * (promoters - detractors) / len(p), 1) if len(p) else None}

    return G.table(q, k, row, len(rows))


async def _callbacks(conn: AsyncConnection, q: ReportQuery) -> dict[str, Any]:
    d = conn.dialect.name
    stmt = (select(callbacks.c.status, callbacks.c.outcome, callbacks.c.assignee_id, tickets.c.department,
                   tickets.c.channel, epoch(callbacks.c.slot_start, d).label("slot"))
            .join(tickets, tickets.c.id == callbacks.c.ticket_id)
            .where(and_(callbacks.c.slot_start >= q.start, callbacks.c.slot_start < q.end, *_filters(q))))
    rows = (await conn.execute(stmt)).all()
    status = np.array([r.status for r in rows], dtype=object)
    outcome = np.array([r.outcome or "" for r in rows], dtype=object)
    k = G.keys(q, np.array([r.slot for r in rows], dtype=np.float64), [r.assignee_id for r in rows],
               [r.department for r in rows], [r.channel for r in rows])

    def row(ix: np.ndarray) -> dict[str, Any]:
        s, o = status[ix], outcome[ix]
        reached = int((o == "reached").sum())
        return {"booked": int(len(ix)), "reached": reached, "no_answer": int(((o == "no_answer") & (s != "unreachable")).sum()),
                "wrong_number": int((o == "wrong_number").sum()), "unreachable": int((s == "unreachable").sum()),
                "cancelled": int((s == "cancelled").sum()),
                "open": int((np.isin(s, OPEN_CALLBACK) & (o != "no_answer")).sum()),
                "reached_pct": G.pct(reached, int(len(ix)) - int((s == "cancelled").sum()))}

    return G.table(q, k, row, len(rows))


async def figures(db: Database, config: Config, q: ReportQuery, now: datetime) -> dict[str, Any]:
    began = _time.perf_counter()
    async with db.read() as conn:
        rows = await _tickets(conn, q)
        handoffs = await _handoffs(conn, q)
        satisfaction = await _satisfaction(conn, q)
        cbs = await _callbacks(conn, q)
        missed = await missed_questions(conn, q)
        agent_names = {str(r.id): r.name for r in (await conn.execute(select(agents.c.id, agents.c.name))).all()}
    sections = _ticket_tables(q, config, rows, handoffs, now.timestamp())
    sections["satisfaction"] = satisfaction
    sections["callbacks"] = cbs
    complaint_rows = [r for r in rows if r.kind == "complaint"]
    lists = {
        "complaints_by_department": _counted(Counter(r.department or G.NONE for r in complaint_rows), "department"),
        "tickets_by_kind": _counted(Counter(r.kind for r in rows), "kind"),
        "complaint_topics": _counted(topics(complaint_rows), "topic"),
        "missed_questions": missed,
    }
    labels = {G.NONE: None}
    if q.group == "agent":
        labels.update(agent_names)
    return {
        "from": q.first.isoformat(), "to": q.last.isoformat(), "tz": q.tz, "group": q.group,
        "department": q.department, "channel": q.channel, "labels": labels,
        "columns": COLUMNS, "sections": sections, "lists": lists,
        "units": {"seconds": "business hours of the ticket's department", "pct": "percent"},
        "took_ms": round((_time.perf_counter() - began) * 1000, 1),
    }


def _counted(c: Counter[str], name: str) -> dict[str, Any]:
    return {"columns": [name, "count"], "rows": [{name: k, "count": v} for k, v in c.most_common(50)]}
