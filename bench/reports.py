"""Reports on 100,000 tickets: how long GET /api/reports takes to compute, per range and grouping.

Fills a fresh database (SQLite by default, PostgreSQL with --postgres URL) with a year of tickets (a quarter with
survey answers, one in twenty with a callback, one in ten handed off by the bot, some after misses), then times
`hub.reports.figures` (what the endpoint returns, without HTTP) for a 30-day and a 365-day range in each grouping.
Wall time depends on what else the machine runs; `cpu_p50_ms` (this process's CPU time, its database threads
included) is what one idle core would need.  Where the hub keeps business-hours durations (`report_durations`)
and day blocks (`report_blocks`), each range and grouping is first timed once with those tables emptied (`cold_*`:
the first report after an upgrade or an edit of every calendar) and then `--runs` times as they are left
(`cpu_p50_ms`: later reports).

`--db FILE` keeps the SQLite database (filled on first use) so that two trees can be timed on the same data, one
after the other: `HUB_BENCH_TREE=../other-checkout python -m bench.reports --db /tmp/r.db` times that checkout's
hub.  Prints JSON.
Usage: python -m bench.reports [--tickets 100000] [--runs 5] [--db FILE | --postgres postgresql+asyncpg://...]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from bench.common import HUB_TREE, machine, pct

sys.path.insert(0, str(HUB_TREE))  # the hub being timed: this checkout, or HUB_BENCH_TREE's

from sqlalchemy import delete, func, insert, inspect, select  # noqa: E402

from hub.config import from_mapping  # noqa: E402
from hub.reports.figures import figures  # noqa: E402
from hub.reports.params import ReportQuery  # noqa: E402
from hub.store import schema  # noqa: E402
from hub.store.db import Database  # noqa: E402
from hub.store.migrate import migrate  # noqa: E402
from hub.store.schema import agents, callbacks, customers, messages, surveys, tickets, trace  # noqa: E402

START = datetime(2025, 12, 1, tzinfo=timezone.utc)
DEPTS = ["support", "billing", "sales", "callbacks"]
CHANNELS = ["webchat", "telegram", "email", "callback"]
KINDS = ["question"] * 6 + ["complaint"] * 2 + ["sales", "feedback"]
QUESTIONS = ["How do I reset my password?", "ลืมรหัสผ่านทำอย่างไร", "رمز عبورم را فراموش کردم", "Where is my parcel?",
             "ส่งของถึงเมื่อไร", "سفارشم کی می‌رسد؟", "Can I pay by QR?"]


async def fill(db: Database, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    now = START
    async with db.write() as conn:
        cid = (await conn.execute(insert(customers).values(name="bench", tier="standard", tags=[], created_at=now)
                                  .returning(customers.c.id))).scalar_one()
        agent_ids = []
        for i in range(20):
            agent_ids.append((await conn.execute(insert(agents).values(
                name=f"agent{i}", email=f"a{i}@bench.example", password_hash="x", role="agent", departments=[DEPTS[i % 4]],
                capacity=5, active=True, presence="offline", created_at=now).returning(agents.c.id))).scalar_one())
    span = 365 * 86400
    batch = 5000
    next_id = 1
    for lo in range(0, n, batch):
        rows: list[dict[str, Any]] = []
        extra: dict[str, list[dict[str, Any]]] = {"trace": [], "messages": [], "surveys": [], "callbacks": []}
        for i in range(lo, min(n, lo + batch)):
            tid = next_id
            next_id += 1
            created = START + timedelta(seconds=span * i / n + rnd.random() * 60)
            first = created + timedelta(minutes=rnd.expovariate(1 / 40)) if rnd.random() < 0.92 else None
            resolved = (first or created) + timedelta(hours=rnd.expovariate(1 / 6)) if first and rnd.random() < 0.85 else None
            r = {
                "id": tid, "customer_id": cid, "status": "resolved" if resolved else "assigned", "priority": "normal",
                "department": rnd.choice(DEPTS), "kind": rnd.choice(KINDS), "channel": rnd.choice(CHANNELS),
                "language": rnd.choice(["en", "th", "fa"]), "assignee_id": rnd.choice(agent_ids + [None]),
                "subject": None, "tags": [], "created_at": created, "updated_at": resolved or first or created,
                "first_response_due": created + timedelta(hours=1), "resolution_due": created + timedelta(hours=24),
                "first_response_at": first, "resolved_at": resolved, "breached": [], "bot_misses": 0,
                "bot_state": {"lang": "en"} if rnd.random() < 0.3 else {},
            }
            rows.append(r)
            extra["trace"].append({"ticket_id": tid, "at": created, "what": "opened", "why": "bench"})
            if rnd.random() < 0.10:
                why = "bot missed 2 times in a row (low score)"
                extra["trace"].append({"ticket_id": tid, "at": created, "what": "handoff", "why": why})
                for author, text, meta in (("customer", rnd.choice(QUESTIONS), {}), ("system", "handoff", {"bot": {"reason": why}})):
                    extra["messages"].append({
                        "ticket_id": tid, "direction": "in" if author == "customer" else "out", "author": author, "text": text,
                        "channel": r["channel"], "created_at": created, "attachments": [], "automatic": author != "customer",
                        "edits": [], "meta": meta})
            if resolved is not None and rnd.random() < 0.3:
                at = resolved + timedelta(hours=2)
                extra["surveys"].append({
                    "ticket_id": tid, "customer_id": cid, "resolved_at": resolved, "channel": r["channel"],
                    "department": r["department"], "agent_id": r["assignee_id"], "language": "en", "state": "answered",
                    "score": rnd.choice([1, 2, 3, 4, 4, 5, 5, 5]), "nps": rnd.randint(0, 10), "answers": 1, "due_at": at,
                    "sent_at": at, "answered_at": at, "created_at": at, "updated_at": at})
            if rnd.random() < 0.05:
                slot = created + timedelta(days=1)
                extra["callbacks"].append({
                    "ticket_id": tid, "customer_id": cid, "phone": "+66812345678", "window_start": slot, "window_end": slot,
                    "tz": "Asia/Bangkok", "status": rnd.choice(["done", "scheduled", "unreachable", "cancelled"]),
                    "attempts": 1, "outcome": rnd.choice(["reached", "no_answer", "wrong_number", None]),
                    "assignee_id": r["assignee_id"], "slot_start": slot, "created_at": created, "updated_at": slot})
        async with db.write() as conn:
            await conn.execute(insert(tickets), rows)
            for table, values in ((trace, extra["trace"]), (messages, extra["messages"]), (surveys, extra["surveys"]),
                                  (callbacks, extra["callbacks"])):
                if values:
                    await conn.execute(insert(table), values)


async def _timed(db: Database, config: Any, q: ReportQuery, now: datetime) -> tuple[float, float, int]:
    t0, c0 = time.perf_counter(), time.process_time()
    r = await figures(db, config, q, now)
    # process_time: every thread of this process, so the database reads are counted too
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000, r["sections"]["volume"]["total"]["tickets"]


async def time_reports(db: Database, runs: int) -> list[dict[str, Any]]:
    config = from_mapping({"departments": [{"name": d, "default": d == "support"} for d in DEPTS]})
    now = START + timedelta(days=366)
    kept = getattr(schema, "report_durations", None)
    day_blocks = getattr(schema, "report_blocks", None)
    out = []
    for days in (30, 365):
        last = date(2026, 11, 30)
        for group in ("day", "week", "agent", "department", "channel"):
            q = ReportQuery(last - timedelta(days=days - 1), last, "Asia/Bangkok", group)
            row: dict[str, Any] = {"days": days, "group": group}
            if kept is not None:
                async with db.write() as conn:
                    await conn.execute(delete(kept))
                    if day_blocks is not None:
                        await conn.execute(delete(day_blocks))
                wall, cpu1, _ = await _timed(db, config, q, now)
                row.update(cold_ms=round(wall, 1), cold_cpu_ms=round(cpu1, 1))
            times, cpu, tickets_in = [], [], 0
            for _ in range(runs):
                wall, c, tickets_in = await _timed(db, config, q, now)
                times.append(wall)
                cpu.append(c)
            row.update(tickets_in_range=tickets_in, p50_ms=round(pct(times, 50) or 0, 1), max_ms=round(max(times), 1),
                       cpu_p50_ms=round(pct(cpu, 50) or 0, 1))
            out.append(row)
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", help="a SQLite file to keep (filled when it has no tickets yet)")
    ap.add_argument("--postgres", help="a PostgreSQL database URL to fill (its tables are created; use an empty one)")
    args = ap.parse_args()
    path = args.db or f"{tempfile.mkdtemp(prefix='hub-bench-reports-')}/hub.db"
    url = args.postgres or f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    filled = 0.0
    if not await _has_tickets(db):  # a kept database is left as it is (its schema may be newer than the hub timed)
        await migrate(db)
        t0 = time.perf_counter()
        await fill(db, args.tickets)
        filled = time.perf_counter() - t0
    results = await time_reports(db, args.runs)
    await db.close()
    commit = subprocess.run(["git", "-C", str(HUB_TREE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(json.dumps({"bench": "reports", "database": url.split(":")[0], "tickets": args.tickets, "runs": args.runs,
                      "hub": commit, "fill_seconds": round(filled, 1), "machine": machine(), "date": date.today().isoformat(),
                      "load_average": [round(x, 2) for x in os.getloadavg()],
                      "results": results}, indent=1))


async def _has_tickets(db: Database) -> bool:
    async with db.read() as conn:
        if not await conn.run_sync(lambda c: inspect(c).has_table("tickets")):
            return False
        return bool((await conn.execute(select(func.count()).select_from(tickets))).scalar())


if __name__ == "__main__":
    asyncio.run(main())
