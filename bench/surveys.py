"""The survey sweep: what one pass of `Surveys.tick` costs with a large history, and how fast it plans and sends.

Fills a fresh SQLite database with N resolved tickets that already have an answered survey (the history every
sweep must not rescan), then times (1) idle sweeps, (2) a sweep that plans and sends M surveys for tickets just
resolved (each send is one transaction with its message and outbox row; the outbox itself is not started).  Wall
time depends on what else the machine runs.  Prints JSON.  Usage: python -m bench.surveys [--tickets 100000] [--new 500]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import machine, pct
from hub.clock import FrozenClock
from hub.config import from_mapping
from hub.services import Hub
from hub.store.migrate import migrate
from hub.store.schema import agents, customers, identities, messages, surveys, tickets

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)


async def fill(hub: Hub, old: int, new: int) -> None:
    async with hub.db.write() as conn:
        aid = (await conn.execute(insert(agents).values(name="a", email="a@bench.example", password_hash="x", role="agent",
                                                        departments=["support"], capacity=5, active=True, presence="offline",
                                                        created_at=NOW).returning(agents.c.id))).scalar_one()
    batch = 2000
    for start in range(0, old + new, batch):
        rows = range(start, min(start + batch, old + new))
        async with hub.db.write() as conn:
            cids = (await conn.execute(insert(customers).returning(customers.c.id),
                                       [dict(name=f"c{i}", tier="standard", tags=[], created_at=NOW) for i in rows])).scalars().all()
            iids = (await conn.execute(insert(identities).returning(identities.c.id),
                                       [dict(customer_id=c, channel="webchat", external_id=f"v{c}", verified=True, created_at=NOW)
                                        for c in cids])).scalars().all()
            ticket_rows = []
            for i, c, ident in zip(rows, cids, iids):
                resolved = NOW - (timedelta(days=30 + i % 300) if i < old else timedelta(hours=2))
                ticket_rows.append(dict(customer_id=c, identity_id=ident, status="resolved", priority="normal", department="support",
                                        kind="question", channel="webchat", language="en", assignee_id=aid, subject=f"order {i}",
                                        tags=[], created_at=resolved - timedelta(hours=1), updated_at=resolved,
                                        resolved_at=resolved, breached=[], bot_state={}))
            tids = (await conn.execute(insert(tickets).returning(tickets.c.id, tickets.c.resolved_at, tickets.c.customer_id),
                                       ticket_rows)).all()
            await conn.execute(insert(messages), [dict(ticket_id=t.id, direction="out", author="agent", agent_id=aid, text="done",
                                                       channel="webchat", created_at=t.resolved_at, attachments=[], automatic=False,
                                                       edits=[], meta={}) for t in tids])
            old_ones = [t for i, t in zip(rows, tids) if i < old]
            if old_ones:
                await conn.execute(insert(surveys), [dict(
                    ticket_id=t.id, customer_id=t.customer_id, resolved_at=t.resolved_at, channel="webchat", via="webchat",
                    department="support", agent_id=aid, language="en", state="answered", score=1 + t.id % 5, answers=1,
                    due_at=t.resolved_at + timedelta(hours=1), sent_at=t.resolved_at + timedelta(hours=1),
                    expires_at=t.resolved_at + timedelta(days=3), answered_at=t.resolved_at + timedelta(hours=2),
                    complaint_ticket_id=None if t.id % 5 > 1 else t.id,
                    created_at=t.resolved_at, updated_at=t.resolved_at + timedelta(hours=2)) for t in old_ones])


async def run(old: int, new: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = from_mapping({"database": {"url": f"sqlite+aiosqlite:///{os.path.join(tmp, 'hub.db')}"},
                               "channels": {"webchat": {"enabled": True}}, "bot": {"enabled": False},
                               "rate_limits": {"enabled": False}, "scheduler_interval": 3600})
        hub = Hub(config, clock=FrozenClock(NOW))
        await migrate(hub.db)
        t0 = time.perf_counter()
        await fill(hub, old, new)
        fill_s = time.perf_counter() - t0
        await hub.bus.start()
        hub.outbox.kick = lambda *a, **k: None  # type: ignore[method-assign]  # delivery is not what is timed
        try:
            started = time.perf_counter()
            await hub.surveys.tick()  # plans and sends the new ones
            busy_ms = (time.perf_counter() - started) * 1000
            idle = []
            for _ in range(runs):
                started = time.perf_counter()
                await hub.surveys.tick()
                idle.append((time.perf_counter() - started) * 1000)
            async with hub.db.read() as conn:
                sent = (await conn.execute(select(func.count()).select_from(surveys).where(surveys.c.state == "sent"))).scalar_one()
        finally:
            await hub.outbox.stop()
            await hub.bus.stop()
            await hub.db.close()
    return {"history_surveys": old, "new_resolutions": new, "sent": sent, "fill_s": round(fill_s, 1),
            "sweep_planning_and_sending_ms": round(busy_ms, 1), "per_survey_ms": round(busy_ms / max(new, 1), 2),
            "idle_sweep_p50_ms": round(pct(idle, 50), 2), "idle_sweep_max_ms": round(max(idle), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=100_000, help="resolved tickets with an answered survey")
    ap.add_argument("--new", type=int, default=100, help="tickets just resolved: one sweep plans and sends up to 100")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    out = asyncio.run(run(args.tickets, args.new, args.runs))
    print(json.dumps({"machine": machine(), "surveys": out}, indent=2))


if __name__ == "__main__":
    main()
