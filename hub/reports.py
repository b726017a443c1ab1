"""The supervisor summary: counts, response and resolution times, SLA breaches."""
from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub.store.db import Database
from hub.store.schema import tickets, trace


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
                    tickets.c.created_at >= since, trace.c.what.in_(("department", "handoff", "rule", "complaint", "escalated"))
                )
            )
        ).all()
    by: dict[str, Counter[str]] = {k: Counter() for k in ("status", "department", "channel", "kind", "priority")}
    complaints: Counter[str] = Counter()
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
        breached = set(r.breached or ())
        if "first_response" in breached or (r.first_response_due and (r.first_response_at or now) > r.first_response_due):
            breaches["first_response"] += 1
        if "resolution" in breached or (r.resolution_due and (r.resolved_at or now) > r.resolution_due):
            breaches["resolution"] += 1
    why: Counter[str] = Counter(f"{w}: {y.split(':')[0]}" for w, y in reasons)
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
        "csat": None,
    }
