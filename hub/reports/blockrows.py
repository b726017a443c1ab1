"""Building day blocks (hub/reports/blocks.py) from the tables: the same expressions the direct queries of
hub/reports/figures.py use, over whole UTC days, leaving out everything that depends on the report (time zone,
grouping, filters, "now")."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import and_, case, exists, literal_column, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType

from hub.config import Config
from hub.reports import durations
from hub.reports.blocks import DAY, ITEMS, NAT, Block, Codes, micros, span
from hub.reports.blocktriggers import day_of, micros_of
from hub.reports.figures import PASSED, WITH_BOT  # the flags that do not depend on "now"
from hub.reports.missed import MISS_REASONS, question_key, topic_of
from hub.reports.sql import as_text, epoch
from hub.store.schema import HANDED_OFF, callbacks, labels, messages, surveys, tickets, trace

# SLA state of a target: none set, open (decided once its deadline passes), missed, met.
NO_TARGET, OPEN, MISSED, MET = 0, 1, 2, 3


def _raw(col: Any) -> Any:
    return type_coerce(col, NullType())  # the stored text, not parsed


def _days_of(col: str, days: Sequence[int], time_col: Any, dialect: str) -> Any:
    lo, hi, listed = span(days)
    return and_(time_col >= lo, time_col < hi, literal_column(f"{day_of(col, dialect)} IN ({listed})"))


def _or_nat(values: list[Any]) -> np.ndarray:
    return np.array([NAT if v is None else v for v in values], dtype=np.int64)


def _split(days: Sequence[int], day_col: list[int]) -> dict[int, np.ndarray]:
    by = np.array(day_col, dtype=np.int64)
    return {d: np.flatnonzero(by == d) for d in days}


async def build_tickets(conn: AsyncConnection, config: Config, days: Sequence[int],
                         kept: set[int]) -> dict[int, Block]:
    t, rd = tickets.c, durations.rd.c
    d = conn.dialect.name
    in_days = _days_of("tickets.created_at", days, t.created_at, d)
    breached = as_text(t.breached)
    handed = t.id.in_(select(trace.c.ticket_id).where(HANDED_OFF))

    def state(at: Any, due: Any, breach: str) -> Any:
        # As figures._tickets decides it, but an open target's deadline is compared with "now" by the report.
        return case((due.is_(None), NO_TARGET), (at.is_(None), OPEN),
                    (and_(at <= due, ~breached.like(f"%{breach}%")), MET), else_=MISSED)

    complaint = t.kind == "complaint"
    us = lambda col: literal_column(micros_of(col, d))  # noqa: E731
    stmt = (select(literal_column(day_of("tickets.created_at", d)), us("tickets.created_at"), epoch(t.created_at, d),
                   t.assignee_id, t.department, t.channel, t.kind,
                   case((as_text(t.bot_state).not_in(("{}", "null")), WITH_BOT), else_=0)
                   + case((handed, PASSED), else_=0),
                   state(t.first_response_at, t.first_response_due, "first_response"),
                   state(t.resolved_at, t.resolution_due, "resolution"),
                   case((t.first_response_at.is_(None), us("tickets.first_response_due"))),
                   case((t.resolved_at.is_(None), us("tickets.resolution_due"))),
                   rd.first_response_bs, rd.resolution_bs, case((rd.ticket_id.is_(None), t.id)), t.id,
                   case((complaint, as_text(t.tags))), case((complaint, t.bot_state["last_entry"].as_string())))
            .select_from(durations.joined(config)).where(in_days))
    rows = (await conn.execute(stmt)).all()
    first_bt = np.array([r[12] for r in rows], dtype=np.float64)
    res_bt = np.array([r[13] for r in rows], dtype=np.float64)
    stale = np.array([r[14] for r in rows], dtype=object)
    if (stale != None).any():  # noqa: E711 (element-wise)
        missing = durations.Missing()
        await missing.compute(conn, config, in_days, [i for i in stale.tolist() if i is not None])
        missing.patch(stale, first_bt, res_bt)
        if kept != set(days):
            # Durations stored only for the days this transaction holds (PostgreSQL): two reports building the
            # same days never wait for each other's rows.
            missing.rows = [r for r in missing.rows if micros(r["created_at"]) // (DAY * 1_000_000) in kept]
        await missing.store_in(conn)
    codes = Codes()
    column = lambda i: [r[i] for r in rows]  # noqa: E731
    complaint_of = [r[6] == "complaint" for r in rows]
    cols = {
        "created_us": np.array(column(1), dtype=np.int64),
        "created_ep": np.array(column(2), dtype=np.float64),
        "agent": np.array([-1 if r[3] is None else r[3] for r in rows], dtype=np.int64),
        "dept": codes.of(column(4)), "channel": codes.of(column(5)), "kind": codes.of(column(6)),
        "flags": np.array(column(7), dtype=np.int64),
        "fr_state": np.array(column(8), dtype=np.int64), "rs_state": np.array(column(9), dtype=np.int64),
        "fr_due": _or_nat(column(10)), "rs_due": _or_nat(column(11)),
        "first_bt": first_bt, "res_bt": res_bt,
        "topic": np.where(complaint_of, codes.of([topic_of(r[16], r[17]) if c else None
                                                  for r, c in zip(rows, complaint_of)]), -1),
        "id": np.array(column(15), dtype=np.int64),
    }
    items = await _missed(conn, lambda t: _days_of(f"{t.name}.created_at", days, t.c.created_at, d), codes)
    out = {}
    for day, ix in _split(days, [r[0] for r in rows]).items():
        row_of = dict(zip(cols["id"][ix].tolist(), range(len(ix))))
        mine = [it for it in items if it[5] in row_of]
        missed = {name: np.array([row_of[it[5]] if name == "row" else it[k] for it in mine], dtype=np.int64)
                  for k, name in enumerate(ITEMS.names or ())}
        out[day] = Block({k: v[ix] for k, v in cols.items()}, codes.strings, missed)
    return out


async def _missed(conn: AsyncConnection, days: Any, codes: Codes) -> list[tuple[int, ...]]:
    """The questions the bot missed on these days' tickets, as hub.reports.missed finds them, as ITEMS records
    (`row` left 0): each miss after a miss handoff with the customer message before it, and each answer a customer
    said did not help.  Those `missed._top` would skip (no text, nothing left once folded) are left out."""
    # The days' tickets (their range through ix_tickets_created) with a miss handoff: cheaper for a few days than
    # every handoff in the trace.
    tk = tickets.alias("tk")
    missed_handoff = select(tk.c.id).where(and_(days(tk), exists().where(and_(
        trace.c.ticket_id == tk.c.id, trace.c.what == "handoff",
        or_(*(trace.c.why.like(f"{r}%") for r in MISS_REASONS))))))
    reply = messages.alias("reply")
    asked = (select(messages.c.text).where(and_(messages.c.ticket_id == reply.c.ticket_id,
                                                 messages.c.author == "customer", messages.c.id < reply.c.id))
             .order_by(messages.c.id.desc()).limit(1).scalar_subquery())
    meta = as_text(reply.c.meta)
    found = (await conn.execute(
        select(reply.c.ticket_id, reply.c.id, asked, tickets.c.language)
        .join(tickets, tickets.c.id == reply.c.ticket_id)
        .where(and_(reply.c.ticket_id.in_(missed_handoff), reply.c.author.in_(("bot", "system")),
                    or_(*(meta.like(f"%{r}%") for r in MISS_REASONS))))
    )).all()
    unhelpful = (await conn.execute(
        select(_raw(tickets.c.created_at), labels.c.ticket_id, labels.c.id, labels.c.text, labels.c.language)
        .join(tickets, tickets.c.id == labels.c.ticket_id).where(and_(labels.c.source == "not_helpful", days(tickets)))
    )).all()
    out = []
    for kind, o1, o2, o3, tid, text, lang in (*((0, t, m, 0, t, x, lang) for t, m, x, lang in found),
                                              *((1, micros(c), t, i, t, x, lang) for c, t, i, x, lang in unhelpful)):
        key = question_key(text, lang) if text else ""
        if key:
            out.append((0, kind, o1, o2, o3, tid, codes(text.strip()[:500]), codes(lang), codes(key)))
    return out


async def build_surveys(conn: AsyncConnection, config: Config, days: Sequence[int],
                         kept: set[int]) -> dict[int, Block]:
    s = surveys.c
    d = conn.dialect.name
    stmt = select(literal_column(day_of("surveys.answered_at", d)), literal_column(micros_of("surveys.answered_at", d)),
                  epoch(s.answered_at, d),
                  s.score, s.nps, s.agent_id, s.department, s.channel).where(and_(
                      _days_of("surveys.answered_at", days, s.answered_at, d), s.score.is_not(None)))
    rows = (await conn.execute(stmt)).all()
    codes = Codes()
    cols = {
        "at_us": np.array([r[1] for r in rows], dtype=np.int64),
        "at_ep": np.array([r[2] for r in rows], dtype=np.float64),
        "score": np.array([r[3] for r in rows], dtype=np.float64),
        "nps": np.array([r[4] for r in rows], dtype=np.float64),
        "agent": np.array([-1 if r[5] is None else r[5] for r in rows], dtype=np.int64),
        "dept": codes.of([r[6] for r in rows]),
        "channel": codes.of([r[7] for r in rows]),
    }
    return {day: Block({k: v[ix] for k, v in cols.items()}, codes.strings)
            for day, ix in _split(days, [r[0] for r in rows]).items()}


async def build_callbacks(conn: AsyncConnection, config: Config, days: Sequence[int],
                           kept: set[int]) -> dict[int, Block]:
    c = callbacks.c
    d = conn.dialect.name
    stmt = (select(literal_column(day_of("callbacks.slot_start", d)),
                   literal_column(micros_of("callbacks.slot_start", d)), epoch(c.slot_start, d),
                   c.status, c.outcome, c.assignee_id, tickets.c.department, tickets.c.channel)
            .join(tickets, tickets.c.id == c.ticket_id)
            .where(_days_of("callbacks.slot_start", days, c.slot_start, d)))
    rows = (await conn.execute(stmt)).all()
    codes = Codes()
    cols = {
        "at_us": np.array([r[1] for r in rows], dtype=np.int64),
        "at_ep": np.array([r[2] for r in rows], dtype=np.float64),
        "status": codes.of([r[3] for r in rows]),
        "outcome": codes.of([r[4] for r in rows]),
        "agent": np.array([-1 if r[5] is None else r[5] for r in rows], dtype=np.int64),
        "dept": codes.of([r[6] for r in rows]),
        "channel": codes.of([r[7] for r in rows]),
    }
    return {day: Block({k: v[ix] for k, v in cols.items()}, codes.strings)
            for day, ix in _split(days, [r[0] for r in rows]).items()}
