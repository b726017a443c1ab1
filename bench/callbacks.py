"""Callback scheduling at volume: 10,000 callbacks booked over a week.

    python bench/callbacks.py [--callbacks 10000] [--db sqlite|URL] [--step-minutes 60] [--slot-queries 500]

Moves a frozen clock through the week in steps and, at each step, times (a) a bare indexed SELECT of the due job
rows (the baseline: the least any scheduler must do to find them) and (b) `Scheduler.tick()`, which finds, claims
and fires them (reminder, due, overdue handlers, each its own transaction).  Then times the slot query
(`CallbackService.day`) for random dates and zones against a bare grouped count of the same rows.  Prints JSON.
"""
from __future__ import annotations

import os
import sys

# Run as a script, this directory comes first on sys.path; replace it with the repo root so bench/email.py and the
# like never shadow the standard library.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import asyncio
import json
import logging
import platform
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, insert, or_, select

from hub.clock import FrozenClock  # noqa: E402
from hub.config import from_mapping  # noqa: E402
from hub.services import Hub  # noqa: E402
from hub.store.schema import callbacks, customers, identities, jobs, tickets  # noqa: E402
from hub.web.app import build_app  # noqa: E402

UTC = timezone.utc
START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)  # Monday 07:00 in Bangkok
ZONES = ("Asia/Bangkok", "Asia/Tehran", "Europe/London", "UTC")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(int(len(s) * p), len(s) - 1)] if s else 0.0


async def seed(hub: Hub, n: int) -> None:
    """n callbacks spread over the week's slots, each with its ticket and its three jobs, inserted in bulk."""
    svc = hub_service(hub)
    slots = svc.grid.slots(START, START + timedelta(days=7))
    now = START
    async with hub.db.write() as conn:
        await conn.execute(insert(customers), [dict(id=i + 1, name=f"c{i}", tier="standard", tags=[], created_at=now) for i in range(n)])
        await conn.execute(insert(identities), [dict(id=i + 1, customer_id=i + 1, channel="phone", external_id=f"+6681{i:07d}", created_at=now) for i in range(n)])
        await conn.execute(insert(tickets), [dict(id=i + 1, customer_id=i + 1, identity_id=i + 1, status="queued", priority="normal", department="callbacks",
                                                  kind="callback", channel="callback", tags=[], created_at=now, updated_at=now, breached=[], bot_state={})
                                             for i in range(n)])
        rows, job_rows = [], []
        for i in range(n):
            s = slots[i % len(slots)]
            rows.append(dict(id=i + 1, ticket_id=i + 1, customer_id=i + 1, phone=f"+6681{i:07d}", window_start=s.start, window_end=s.end,
                             tz="Asia/Bangkok", status="scheduled", attempts=0, slot_start=s.start, created_at=now, updated_at=now))
            for kind, what, at in (("callback.remind", "remind", s.start - timedelta(minutes=15)), ("callback.due", "due", s.start),
                                   ("callback.overdue", "overdue", s.end)):
                job_rows.append(dict(kind=kind, key=f"callback:{i + 1}:{what}", due_at=at, payload={"callback_id": i + 1}, state="pending", attempts=0))
        await conn.execute(insert(callbacks), rows)
        await conn.execute(insert(jobs), job_rows)


def hub_service(hub: Hub) -> Any:
    return hub.extras["callback"]


async def baseline_due(hub: Hub, now: datetime) -> tuple[float, int]:
    t0 = time.perf_counter()
    async with hub.db.read() as conn:
        ids = (await conn.execute(
            select(jobs.c.id).where(and_(jobs.c.state == "pending", jobs.c.due_at <= now, or_(jobs.c.locked_until.is_(None), jobs.c.locked_until < now)))
            .order_by(jobs.c.due_at).limit(500)
        )).scalars().all()
    return time.perf_counter() - t0, len(ids)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="hub-bench-")
    url = f"sqlite+aiosqlite:///{tmp}/bench.db" if args.db == "sqlite" else args.db
    config = from_mapping({
        "database": {"url": url},
        "channels": {"callback": {"enabled": True, "calls_per_agent_per_slot": 1000, "slot_minutes": 30}},
        "departments": [{"name": "support", "default": True}, {"name": "callbacks"}],
        "rate_limits": {"enabled": False},
        "scheduler_interval": 3600,
        "bot": {"enabled": False},
    })
    clock = FrozenClock(START)
    hub = Hub(config, clock=clock)
    build_app(config, hub)  # installs the callback service and its job handlers
    await hub.start()
    try:
        t0 = time.perf_counter()
        await seed(hub, args.callbacks)
        seed_s = time.perf_counter() - t0
        ticks: list[dict[str, float]] = []
        fired_total = 0
        end = START + timedelta(days=7, hours=1)
        while clock.now() < end:
            clock.advance(minutes=args.step_minutes)
            base_s, found = await baseline_due(hub, clock.now())
            t0 = time.perf_counter()
            fired = 0
            while True:  # a step may hold more than one tick's batch
                n = await hub.scheduler.tick()
                fired += n
                if n < 500:
                    break
            tick_s = time.perf_counter() - t0
            fired_total += fired
            if fired:
                ticks.append({"base_ms": base_s * 1000, "tick_ms": tick_s * 1000, "fired": fired, "found": found})
        async with hub.db.read() as conn:
            pending = (await conn.execute(select(func.count()).select_from(jobs).where(jobs.c.state == "pending"))).scalar_one()
            due = (await conn.execute(select(func.count()).select_from(callbacks).where(callbacks.c.status == "due"))).scalar_one()
        # Slot queries: rewind the clock so the whole week is bookable again.
        clock.at = START
        svc = hub_service(hub)
        rnd = random.Random(7)
        days = [date(2027, 3, 1) + timedelta(days=rnd.randrange(7)) for _ in range(args.slot_queries)]
        zones = [ZoneInfo(rnd.choice(ZONES)) for _ in range(args.slot_queries)]
        t0 = time.perf_counter()
        for d, z in zip(days, zones):
            await svc.day(d, z)
        slot_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for d, z in zip(days, zones):
            a = datetime.combine(d, datetime.min.time(), tzinfo=z)
            async with hub.db.read() as conn:
                (await conn.execute(
                    select(callbacks.c.slot_start, callbacks.c.status, func.count())
                    .where(and_(callbacks.c.slot_start >= a, callbacks.c.slot_start < a + timedelta(days=1)))
                    .group_by(callbacks.c.slot_start, callbacks.c.status)
                )).all()
        base_slot_s = time.perf_counter() - t0
    finally:
        await hub.stop()
    tick_ms = [t["tick_ms"] for t in ticks]
    per_job = [t["tick_ms"] / t["fired"] for t in ticks]
    base_ms = [t["base_ms"] for t in ticks]
    return {
        "bench": "callbacks",
        "database": "sqlite" if args.db == "sqlite" else "postgresql",
        "callbacks": args.callbacks,
        "jobs": args.callbacks * 3,
        "seed_seconds": round(seed_s, 2),
        "step_minutes": args.step_minutes,
        "ticks_with_work": len(ticks),
        "jobs_fired": fired_total,
        "jobs_left_pending": pending,
        "callbacks_due_at_end": due,
        "tick_ms": {"mean": round(statistics.mean(tick_ms), 2), "p50": round(pct(tick_ms, 0.5), 2), "p95": round(pct(tick_ms, 0.95), 2), "max": round(max(tick_ms), 2)},
        "tick_ms_per_job": {"mean": round(statistics.mean(per_job), 3), "p95": round(pct(per_job, 0.95), 3)},
        "jobs_per_second_firing": round(fired_total / (sum(tick_ms) / 1000), 1),
        "baseline_due_select_ms": {"mean": round(statistics.mean(base_ms), 3), "p95": round(pct(base_ms, 0.95), 3)},
        "slot_queries_per_second": round(args.slot_queries / slot_s, 1),
        "baseline_grouped_count_per_second": round(args.slot_queries / base_slot_s, 1),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # one log line per fired job would time the terminal, not the hub
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--callbacks", type=int, default=10_000)
    p.add_argument("--db", default="sqlite", help="sqlite (a temporary file) or a postgresql+asyncpg:// URL of an empty database")
    p.add_argument("--step-minutes", type=int, default=60)
    p.add_argument("--slot-queries", type=int, default=500)
    print(json.dumps(asyncio.run(run(p.parse_args())), indent=2))


if __name__ == "__main__":
    main()
