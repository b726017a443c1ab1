"""The Reports tab's figures for a date range: response and resolution times in business hours, SLA attainment,
satisfaction (CSAT, NPS), complaints, the bot's answered and handed-off conversations with the questions it missed,
and callbacks; each grouped by day, week, agent, department or channel.

Tickets count in the range they were created in, survey answers when they were answered, callbacks by their booked
slot.  The rows come from day blocks (hub/reports/blocks.py, fromblocks.py: each UTC day's rows packed, kept until
a row of that day changes), built with the expressions of the direct queries here (`_direct`, which reads an
indexed range and fetches only numbers and short strings), so both give the same figures.  Grouping and percentiles
run in numpy.  Business-hours durations come from `report_durations` (hub/reports/durations.py), computed once per
ticket state rather than in every report.
"""
from __future__ import annotations

import time as _time
from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, case, func, null, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Config
from hub.reports import collector, durations, groups as G
from hub.reports.missed import missed_questions, topics
from hub.reports.params import ReportQuery
from hub.reports.sql import as_text, epoch
from hub.store.db import Database
from hub.store.schema import HANDED_OFF, agents, callbacks, surveys, tickets, trace

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


# Bits of the per-ticket flags computed by the database.
COMPLAINT, WITH_BOT, FR_DECIDED, FR_MET, RS_DECIDED, RS_MET, PASSED, ASSIGNED = (1 << i for i in range(8))
# Above them the kind (bits 8-10: its place in KINDS, OTHER_KIND for any other) and the department (from bit 11:
# 0 none, then the configured departments in order, then one code for any other).
KINDS = ("question", "complaint", "sales", "callback", "feedback")
KIND_SHIFT, OTHER_KIND, DEPT_SHIFT = 8, 7, 11


def _in_range(q: ReportQuery) -> Any:
    return and_(tickets.c.created_at >= q.start, tickets.c.created_at < q.end, *_filters(q))


async def _tickets(conn: AsyncConnection, config: Config, q: ReportQuery, now: datetime) -> list[Any]:
    """One narrow row per ticket: the grouping column, its creation time as a number (days and weeks), its stored
    business-hours durations, and everything else the database can decide (SLA met or missed, bot, handoff, kind
    and department as codes) folded into one integer; kind and department as text only when they have no code, and
    the ticket's id only where no valid durations are stored (`durations`).  Every value fetched costs time on
    100,000 rows, so small integers and NULLs are preferred to strings."""
    d = conn.dialect.name
    t = tickets.c
    breached = as_text(t.breached)
    # One set of handed-off tickets for the whole range: a correlated EXISTS per ticket cost more than the rest of
    # the row together.
    handed = t.id.in_(select(trace.c.ticket_id).where(HANDED_OFF))

    def sla(at: Any, due: Any, breach: str, decided: int, met: int) -> Any:
        # Decided: answered (resolved), or past the deadline; met: by the deadline with no breach recorded.
        return case((due.is_(None), 0), (at.is_(None), case((due < now, decided), else_=0)),
                    (and_(at <= due, ~breached.like(f"%{breach}%")), decided + met), else_=decided)

    depts = [x.name for x in config.departments]
    flags = (case((t.kind == "complaint", COMPLAINT), else_=0)
             + case((as_text(t.bot_state).not_in(("{}", "null")), WITH_BOT), else_=0)
             + sla(t.first_response_at, t.first_response_due, "first_response", FR_DECIDED, FR_MET)
             + sla(t.resolved_at, t.resolution_due, "resolution", RS_DECIDED, RS_MET)
             + case((handed, PASSED), else_=0)
             + case((t.assignee_id.is_not(None), ASSIGNED), else_=0)
             + case(*((t.kind == k, i << KIND_SHIFT) for i, k in enumerate(KINDS)), else_=OTHER_KIND << KIND_SHIFT)
             + case((t.department.is_(None), 0),
                    *((t.department == n, (i + 1) << DEPT_SHIFT) for i, n in enumerate(depts)),
                    else_=(len(depts) + 1) << DEPT_SHIFT))
    group = {"agent": t.assignee_id, "channel": t.channel, "department": t.department}.get(q.group, null())
    created = epoch(t.created_at, d) if q.group in ("day", "week") else null()
    rd = durations.rd.c
    stmt = (select(group, created, rd.first_response_bs, rd.resolution_bs, flags, case((t.kind.not_in(KINDS), t.kind)),
                   case((t.department.not_in(depts), t.department)) if depts else t.department,
                   case((rd.ticket_id.is_(None), t.id)))
            .select_from(durations.joined(config)).where(_in_range(q)))
    return list((await conn.execute(stmt)).all())


async def _topics(conn: AsyncConnection, q: ReportQuery) -> dict[str, Any]:
    """Complaints by topic, the database grouping them by tags and the bot's last entry."""
    complaint = and_(_in_range(q), tickets.c.kind == "complaint")
    entry = tickets.c.bot_state["last_entry"].as_string()
    tags = as_text(tickets.c.tags)
    by_topic = (await conn.execute(select(tags, entry, func.count()).where(complaint).group_by(tags, entry))).all()
    return counted(topics(by_topic), "topic")


def _ticket_lists(config: Config, flags: np.ndarray, other_kind: np.ndarray, other_dept: np.ndarray) -> dict[str, Any]:
    """Tickets by kind and complaints by department, counted from the codes in the ticket rows already fetched (two
    more scans of the range cost more than counting them here)."""
    names = [G.NONE, *(x.name for x in config.departments)]
    kind, dept = (flags >> KIND_SHIFT) & 7, flags >> DEPT_SHIFT
    complaint = flags & COMPLAINT > 0
    kinds, by_dept = Counter(other_kind[kind == OTHER_KIND].tolist()), Counter(
        k or G.NONE for k in other_dept[complaint & (dept == len(names))].tolist())
    for counter, keys, codes in ((kinds, KINDS, kind), (by_dept, names, dept[complaint])):
        for k, n in zip(keys, np.bincount(codes, minlength=len(keys)).tolist()):
            if n:
                counter[k] += n  # added, not set: a department may be called "none"
    return {"complaints_by_department": counted(by_dept, "department"), "tickets_by_kind": counted(kinds, "kind")}


# The kinds of the columns _tickets fetches, for G.columns.
TICKET_COLUMNS = "offfiooo"


def _ticket_tables(q: ReportQuery, cols: list[np.ndarray]) -> dict[str, Any]:
    group_l, created, first_bt, res_bt, flags, _, _, _ = cols
    return ticket_tables(G.Grouping.of(q, created, group_l, group_l, group_l), first_bt, res_bt, flags)


def ticket_tables(g: G.Grouping, first_bt: np.ndarray, res_bt: np.ndarray, flags: np.ndarray) -> dict[str, Any]:
    """The ticket sections (volume, SLA, complaints, bot) from each ticket's group, durations and flags bits."""
    bit = lambda b: flags & b > 0  # noqa: E731
    # SLA targets count once decided: met (answered by the deadline, no breach recorded) or missed (late, breached,
    # or still open past the deadline); a ticket still inside its deadline counts in neither.
    fr_decided, fr_met, rs_decided, rs_met = bit(FR_DECIDED), bit(FR_MET), bit(RS_DECIDED), bit(RS_MET)
    complaint = bit(COMPLAINT)
    handled = bit(PASSED) | bit(WITH_BOT)
    # Handed off: the bot passed it to the queue, an escalation took it from the bot, or an agent holds it.
    handoff = bit(PASSED) | bit(ASSIGNED)

    def volume(g: G.Grouping) -> G.Columns:
        fr_median, fr_p90 = g.quantiles(first_bt, (0.5, 0.9))
        rs_median, rs_p90 = g.quantiles(res_bt, (0.5, 0.9))
        return {"tickets": g.count(), "first_responses": g.count(~np.isnan(first_bt)),
                "first_response_median": fr_median, "first_response_p90": fr_p90,
                "resolved": g.count(~np.isnan(res_bt)), "resolution_median": rs_median, "resolution_p90": rs_p90}

    def sla(g: G.Grouping) -> G.Columns:
        a, b, c, d = g.count(fr_decided), g.count(fr_met), g.count(rs_decided), g.count(rs_met)
        return {"first_response_total": a, "first_response_met": b, "first_response_pct": G.ratio(b, a),
                "resolution_total": c, "resolution_met": d, "resolution_pct": G.ratio(d, c)}

    def complaints(g: G.Grouping) -> G.Columns:
        n, c = g.count(), g.count(complaint)
        return {"tickets": n, "complaints": c, "complaint_pct": G.ratio(c, n)}

    def bot(g: G.Grouping) -> G.Columns:
        h, off = g.count(handled), g.count(handled & handoff)
        return {"handled": h, "answered": h - off, "handed_off": off, "answered_pct": G.ratio(h - off, h)}

    return {
        "volume": G.table(g, volume, {c: 1 for c in COLUMNS["volume"] if c.endswith(("median", "p90"))}),
        "sla": G.table(g, sla, {"first_response_pct": 1, "resolution_pct": 1}),
        "complaints": G.table(g, complaints, {"complaint_pct": 1}),
        "bot": G.table(g, bot, {"answered_pct": 1}),
    }


async def _satisfaction(conn: AsyncConnection, q: ReportQuery) -> dict[str, Any]:
    d = conn.dialect.name
    s = surveys.c
    # Only the column the report is grouped by (a year holds tens of thousands of answers).
    if q.group in ("day", "week"):
        group, kinds = epoch(s.answered_at, d), "fff"
    else:
        group, kinds = {"agent": s.agent_id, "department": s.department, "channel": s.channel}[q.group], "ffo"
    stmt = select(s.score, s.nps, group).where(
        and_(s.answered_at >= q.start, s.answered_at < q.end, s.score.is_not(None)))
    if q.department:
        stmt = stmt.where(s.department == q.department)
    if q.channel:
        stmt = stmt.where(s.channel == q.channel)
    score, nps, by = G.columns((await conn.execute(stmt)).all(), kinds)
    return satisfaction_table(G.Grouping.of(q, by, by, by, by), score, nps)


def satisfaction_table(g: G.Grouping, score: np.ndarray, nps: np.ndarray) -> dict[str, Any]:
    def section(g: G.Grouping) -> G.Columns:
        n, answered_nps = g.count(), g.count(~np.isnan(nps))
        promoters, detractors = g.count(nps >= 9), g.count(nps <= 6)
        return {"responses": n, "csat_pct": G.ratio(g.count(score >= 4), n), "csat_avg": G.ratio(g.total_of(score), n, 1.0),
                "nps_responses": answered_nps, "promoters": promoters, "detractors": detractors,
                "nps": G.ratio(promoters - detractors, answered_nps)}

    return G.table(g, section, {"csat_pct": 1, "csat_avg": 2, "nps": 1})


async def _callbacks(conn: AsyncConnection, q: ReportQuery) -> dict[str, Any]:
    d = conn.dialect.name
    c = callbacks.c
    if q.group in ("day", "week"):
        group, kinds = epoch(c.slot_start, d), "oof"
    else:
        kinds = "ooo"
        group = {"agent": c.assignee_id, "department": tickets.c.department, "channel": tickets.c.channel}[q.group]
    stmt = (select(c.status, c.outcome, group).join(tickets, tickets.c.id == c.ticket_id)
            .where(and_(c.slot_start >= q.start, c.slot_start < q.end, *_filters(q))))
    status, outcome_l, by = G.columns((await conn.execute(stmt)).all(), kinds)
    outcome = np.array([o or "" for o in outcome_l.tolist()], dtype=object)
    return callback_table(G.Grouping.of(q, by, by, by, by), status, outcome)


def callback_table(g: G.Grouping, status: np.ndarray, outcome: np.ndarray) -> dict[str, Any]:
    """`status` and `outcome` as text (no outcome as "")."""
    reached, cancelled = outcome == "reached", status == "cancelled"

    def section(g: G.Grouping) -> G.Columns:
        n = g.count()
        return {"booked": n, "reached": g.count(reached),
                "no_answer": g.count((outcome == "no_answer") & (status != "unreachable")),
                "wrong_number": g.count(outcome == "wrong_number"), "unreachable": g.count(status == "unreachable"),
                "cancelled": g.count(cancelled), "open": g.count(np.isin(status, OPEN_CALLBACK) & (outcome != "no_answer")),
                "reached_pct": G.ratio(g.count(reached), n - g.count(cancelled))}

    return G.table(g, section, {"reached_pct": 1})


async def figures(db: Database, config: Config, q: ReportQuery, now: datetime) -> dict[str, Any]:
    began = _time.perf_counter()
    with collector.paused():
        # Day blocks (hub/reports/blocks.py): a year's report reads 365 packed rows per source.  Imported here: it
        # builds on this module's tables.
        from hub.reports.fromblocks import from_blocks

        sections, lists = await from_blocks(db, config, q, now)
        labels = {G.NONE: None}
        if q.group == "agent":
            async with db.read() as conn:
                names = (await conn.execute(select(agents.c.id, agents.c.name))).all()
            labels.update({str(r.id): r.name for r in names})
        return {
            "from": q.first.isoformat(), "to": q.last.isoformat(), "tz": q.tz, "group": q.group,
            "department": q.department, "channel": q.channel, "labels": labels,
            "columns": COLUMNS, "sections": sections, "lists": lists,
            "units": {"seconds": "business hours of the ticket's department", "pct": "percent"},
            "took_ms": round((_time.perf_counter() - began) * 1000, 1),
        }


async def _direct(db: Database, config: Config, q: ReportQuery, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sections and lists from queries over the range's rows: what the day blocks must reproduce (tests compare
    both)."""
    async with db.read() as conn:
        cols = G.columns(await _tickets(conn, config, q, now), TICKET_COLUMNS)
        missing = durations.Missing()
        stale = cols[7]
        if (stale != None).any():  # noqa: E711 (element-wise)
            await missing.compute(conn, config, _in_range(q), [i for i in stale.tolist() if i is not None])
            missing.patch(stale, cols[2], cols[3])
        satisfaction = await _satisfaction(conn, q)
        cbs = await _callbacks(conn, q)
        missed = await missed_questions(conn, q)
        complaint_topics = await _topics(conn, q)
    await missing.store(db)
    sections = _ticket_tables(q, cols)
    sections["satisfaction"] = satisfaction
    sections["callbacks"] = cbs
    lists = {**_ticket_lists(config, cols[4], cols[5], cols[6]), "complaint_topics": complaint_topics,
             "missed_questions": missed}
    return sections, lists


def counted(c: Counter[str], name: str) -> dict[str, Any]:
    ordered = sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[:50]  # ties by name, the same on every database
    return {"columns": [name, "count"], "rows": [{name: k, "count": v} for k, v in ordered]}
