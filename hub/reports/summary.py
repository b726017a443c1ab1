"""The supervisor summary: counts, response and resolution times, SLA breaches."""
from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub.store.db import Database
from hub.store.schema import tickets, trace


# Trace entries that explain where a ticket went and why (routing, assignment, escalation).
REASONS = ("department", "handoff", "rule", "complaint", "escalated", "kind", "priority", "assign", "assigned")
TARGETS = ("first_response", "resolution")
_LEGACY = ("department", "handoff", "rule", "complaint", "escalated")  # what `routing_reasons` has always counted


def _reason(why: str) -> str:
    """The outcome part of a trace line ("support", "agent N"), ids folded so that equal reasons count together."""
    return re.sub(r"\d+", "N", why.split(":")[0].strip())[:120]


def _median_seconds(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


async def summary(db: Database, since: datetime, now: datetime) -> dict[str, Any]:
    async with db.read() as conn:
        rows = (
            await conn.execute(
                select(
                    tickets.c.id, tickets.c.status, tickets.c.department, tickets.c.channel, tickets.c.kind,
                    tickets.c.priority, tickets.c.created_at, tickets.c.first_response_at, tickets.c.resolved_at,
                    tickets.c.first_response_due, tickets.c.resolution_due, tickets.c.breached,
                ).where(tickets.c.created_at >= since)
            )
        ).all()
        reasons = (
            await conn.execute(
                select(trace.c.what, trace.c.why).join(tickets, tickets.c.id == trace.c.ticket_id).where(
                    tickets.c.created_at >= since, trace.c.what.in_(REASONS)
                )
            )
        ).all()
    by: dict[str, Counter[str]] = {k: Counter() for k in ("status", "department", "channel", "kind", "priority")}
    complaints: Counter[str] = Counter()
    dept_kind: dict[str, Counter[str]] = {}
    recorded: Counter[str] = Counter()
    recorded_by_dept: dict[str, Counter[str]] = {}
    first, resolution = [], []
    breaches = {"first_response": 0, "resolution": 0}
    for r in rows:
        for k in by:
            by[k][str(getattr(r, k))] += 1
        if r.kind == "complaint":
            complaints[str(r.department)] += 1
        if r.first_response_at:
            first.append((r.first_response_at - r.created_at).total_seconds())
        if r.resolved_at:
            resolution.append((r.resolved_at - r.created_at).total_seconds())
        dept_kind.setdefault(str(r.department), Counter())[str(r.kind)] += 1
        breached = set(r.breached or ())
        for target in breached & set(TARGETS):  # what the SLA jobs recorded when the deadline passed
            recorded[target] += 1
            recorded_by_dept.setdefault(str(r.department), Counter())[target] += 1
        if "first_response" in breached or (r.first_response_due and (r.first_response_at or now) > r.first_response_due):
            breaches["first_response"] += 1
        if "resolution" in breached or (r.resolution_due and (r.resolved_at or now) > r.resolution_due):
            breaches["resolution"] += 1
    why: Counter[str] = Counter(f"{w}: {y.split(':')[0]}" for w, y in reasons if w in _LEGACY)
    by_what: dict[str, Counter[str]] = {}
    for w, y in reasons:
        by_what.setdefault(w, Counter())[_reason(y)] += 1
    return {
        "since": since.isoformat(),
        "total": len(rows),
        "by_status": dict(by["status"]),
        "by_department": dict(by["department"]),
        "by_channel": dict(by["channel"]),
        "by_kind": dict(by["kind"]),
        "by_priority": dict(by["priority"]),
        "complaints_by_department": dict(complaints),
        "first_response_seconds": {"median": _median_seconds(first), "count": len(first)},
        "resolution_seconds": {"median": _median_seconds(resolution), "count": len(resolution)},
        "sla_breaches": breaches,
        "routing_reasons": dict(why.most_common(20)),
        "by_department_kind": {d: dict(c) for d, c in dept_kind.items()},
        "sla_breaches_recorded": {t: recorded[t] for t in TARGETS},
        "sla_breaches_by_department": {d: dict(c) for d, c in recorded_by_dept.items()},
        "routing_trace": {w: dict(c.most_common(20)) for w, c in by_what.items()},
        "csat": None,
    }
