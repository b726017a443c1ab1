"""The retention job on a large backlog: how fast it anonymises, and what the rest of the hub feels meanwhile.

Fills a fresh database (SQLite by default, PostgreSQL with --postgres URL) with a year of tickets (bench.reports'
data: 85% resolved, some with messages, surveys and callbacks), moves the clock three years on so that every
resolved ticket is past `closed_tickets: 2y`, and runs the job while two probes measure what a busy hub would
notice: a writer committing a small row every 10 ms (the wait for the write lock, as an agent's reply would see)
and the event loop's lag (SQLite statements run on the loop).  Batch sizes are compared.  Prints JSON.
Usage: python -m bench.retention [--tickets 20000] [--batches 50,200,1000] [--postgres postgresql+asyncpg://...]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.common import machine, pct
from bench.reports import START, fill
from hub.clock import FrozenClock
from hub.privacy.config import RetentionConfig
from hub.privacy.retention import Retention
from hub.store.db import Database
from hub.store.migrate import migrate
from hub.store.schema import checkpoints, tickets


async def probes(db: Database, stop: asyncio.Event) -> tuple[list[float], list[float]]:
    writes: list[float] = []
    lags: list[float] = []

    async def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            t0 = time.perf_counter()
            async with db.write() as conn:
                await conn.execute(insert(checkpoints).values(key=f"probe:{id(stop)}:{i}", value="x",
                                                              updated_at=datetime.now(timezone.utc)))
            writes.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.01)

    async def loop_lag() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(max((time.perf_counter() - t0) * 1000 - 5, 0.0))

    await asyncio.gather(writer(), loop_lag())
    return writes, lags


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(pct(values, 50) or 0, 2), "p99_ms": round(pct(values, 99) or 0, 2),
            "max_ms": round(max(values, default=0), 2)}


async def one(url: str, n: int, batch: int) -> dict[str, Any]:
    db = Database(url)
    await migrate(db)
    if not db.is_sqlite:
        async with db.write() as conn:
            await conn.execute(text("TRUNCATE tickets, customers, agents, trace, messages, surveys, callbacks, checkpoints CASCADE"))
    await fill(db, n)
    async with db.read() as conn:
        due = (await conn.execute(select(func.count()).select_from(tickets).where(tickets.c.status == "resolved"))).scalar()
    clock = FrozenClock(START + timedelta(days=3 * 365))
    job = Retention(db, RetentionConfig(closed_tickets=timedelta(days=730), batch=batch, pause=0.05, max_batches=10**6),
                    clock, {})
    stop = asyncio.Event()
    idle_task = asyncio.create_task(probes(db, stop))
    await asyncio.sleep(2)  # the probes alone first: the baseline
    stop.set()
    idle_w, idle_l = await idle_task
    stop = asyncio.Event()
    busy_task = asyncio.create_task(probes(db, stop))
    t0 = time.perf_counter()
    done = await job.run()
    took = time.perf_counter() - t0
    stop.set()
    busy_w, busy_l = await busy_task
    again = await job.run()
    await db.close()
    return {"batch": batch, "tickets_due": due, "anonymised": done["tickets"], "seconds": round(took, 2),
            "tickets_per_s": round(done["tickets"] / took) if took else None, "second_run_changed": again["tickets"],
            "idle": {"write": summary(idle_w), "loop_lag": summary(idle_l)},
            "during_retention": {"write": summary(busy_w), "loop_lag": summary(busy_l)}}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=20_000)
    ap.add_argument("--batches", default="50,200,1000")
    ap.add_argument("--postgres", help="a PostgreSQL database URL (its tables are emptied: use a scratch database)")
    args = ap.parse_args()
    results = []
    for batch in (int(b) for b in args.batches.split(",")):
        url = args.postgres or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='hub-bench-retention-')}/hub.db"
        results.append(await one(url, args.tickets, batch))
    print(json.dumps({"bench": "retention", "database": "postgresql" if args.postgres else "sqlite", "tickets": args.tickets,
                      "pause_s": 0.05, "machine": machine(), "date": date.today().isoformat(), "results": results}, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
