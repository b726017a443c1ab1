"""Reports on 100,000 tickets: how long GET /api/reports takes to compute, per range and grouping.

Fills a fresh database (SQLite by default, PostgreSQL with --postgres URL) with a year of tickets (a quarter with
survey answers, one in twenty with a callback, one in ten handed off by the bot, some after misses), then times
`hub.reports.figures` (what the endpoint returns, without HTTP) for a 30-day and a 365-day range in each grouping.
Wall time depends on what else the machine runs; `cpu_p50_ms` (this process's CPU time, its database threads
included) is what one idle core would need.  Prints JSON.  Usage: python -m bench.reports [--tickets 100000] [--runs 5] [--postgres postgresql+asyncpg://...]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert

from bench.common import machine, pct
from hub.config import from_mapping
from hub.reports.figures import figures
from hub.reports.params import ReportQuery
from hub.store.db import Database
from hub.store.migrate import migrate
from hub.store.schema import agents, callbacks, customers, messages, surveys, tickets, trace

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


async def time_reports(db: Database, runs: int) -> list[dict[str, Any]]:
    config = from_mapping({"departments": [{"name": d, "default": d == "support"} for d in DEPTS]})
    now = START + timedelta(days=366)
    out = []
    for days in (30, 365):
        last = date(2026, 11, 30)
        for group in ("day", "week", "agent", "department", "channel"):
            q = ReportQuery(last - timedelta(days=days - 1), last, "Asia/Bangkok", group)
            times, cpu, tickets_in = [], [], 0
            for _ in range(runs):
                t0, c0 = time.perf_counter(), time.process_time()
                r = await figures(db, config, q, now)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)  # every thread of this process: the SQLite reads too
                tickets_in = r["sections"]["volume"]["total"]["tickets"]
            out.append({"days": days, "group": group, "tickets_in_range": tickets_in,
                        "p50_ms": round(pct(times, 50) or 0, 1), "max_ms": round(max(times), 1),
                        "cpu_p50_ms": round(pct(cpu, 50) or 0, 1)})
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--postgres", help="a PostgreSQL database URL to fill (its tables are created; use an empty one)")
    args = ap.parse_args()
    url = args.postgres or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='hub-bench-reports-')}/hub.db"
    db = Database(url)
    await migrate(db)
    t0 = time.perf_counter()
    await fill(db, args.tickets)
    filled = time.perf_counter() - t0
    results = await time_reports(db, args.runs)
    await db.close()
    print(json.dumps({"bench": "reports", "database": url.split(":")[0], "tickets": args.tickets, "runs": args.runs,
                      "fill_seconds": round(filled, 1), "machine": machine(), "date": date.today().isoformat(),
                      "load_average": [round(x, 2) for x in os.getloadavg()],
                      "results": results}, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
