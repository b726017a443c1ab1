"""Scale-out: the web chat load on 1 and 2 `hub serve` processes over PostgreSQL + Redis, beside one process on
SQLite and a bare aiohttp echo server.

    python bench/scale.py [--customers 200] [--seconds 10] [--postgres-url URL] [--redis-url URL]
                          [--review-worker thread|process]

With 2 processes the customers are spread over both ports and each agent reply is posted to the process its
customer is NOT connected to, so every reply crosses Redis.  Prints JSON: messages/s stored (acked), p50/p99
latencies, hub CPU per message (all hub processes together), the CPU PostgreSQL and Redis spent per message, the
load generator's own CPU, and a projection of messages/s per hub core from the measured CPU cost.
"""
from __future__ import annotations

import os
import sys

# Run as a script, this directory comes first on sys.path; put the repo root there instead so that bench/email.py
# never shadows the standard library's email package.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any


from bench.agent_load import AGENT  # noqa: E402
from bench.common import HubProcess, emit, machine, uvloop  # noqa: E402
from bench.echo import echo_baseline  # noqa: E402
from bench.webchat import hub_load  # noqa: E402



def _service_cpu(names: tuple[str, ...]) -> float:
    """CPU seconds of every process whose command name starts with one of `names`, plus what their exited children
    used (PostgreSQL backends come and go with the hubs' connection pools; the postmaster reaps them)."""
    total = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if (d / "comm").read_text().strip().startswith(names):
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


class Meter:
    """CPU of the database, Redis and this load generator over the timed window."""

    def start(self) -> None:
        self.pg0, self.redis0, self.me0 = _service_cpu(("postgres",)), _service_cpu(("redis-server",)), _self_cpu()

    def stop(self) -> None:
        self.pg = _service_cpu(("postgres",)) - self.pg0
        self.redis = _service_cpu(("redis-server",)) - self.redis0
        self.me = _self_cpu() - self.me0

    def annotate(self, run: dict[str, Any]) -> dict[str, Any]:
        n = max(run["messages_stored"], 1)
        run["postgres_cpu_ms_per_message"] = round(self.pg * 1000 / n, 3)
        run["redis_cpu_ms_per_message"] = round(self.redis * 1000 / n, 3)
        run["load_generator_cpu_ms_per_message"] = round(self.me * 1000 / n, 3)
        return run


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


@asynccontextmanager
async def pg_database(base: str) -> AsyncIterator[str]:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"hubbench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def start_cluster(n: int, overrides: dict[str, Any]) -> list[HubProcess]:
    hubs = [HubProcess(overrides) for _ in range(n)]
    hubs[0].add_agent(*AGENT)  # migrates the shared database once
    for h in hubs:
        h.start()
    return hubs


async def run_postgres(n: int, args: argparse.Namespace) -> dict[str, Any]:
    async with pg_database(args.postgres_url) as db_url:
        overrides = {**_review(args), "database": {"url": db_url},
                     "redis": {"url": args.redis_url, "prefix": f"hubbench:{uuid.uuid4().hex[:8]}:"}}
        hubs = start_cluster(n, overrides)
        try:
            meter = Meter()
            return meter.annotate(await hub_load(hubs, args.customers, args.seconds, args.reply_every, meter=meter))
        finally:
            for h in hubs:
                h.stop()


async def run_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    """The core benchmark's own measurement (bench/webchat.py hub_load), for the figure beside the cluster's."""
    hub = HubProcess(_review(args))
    hub.add_agent(*AGENT)
    hub.start()
    try:
        return {**await hub_load([hub], args.customers, args.seconds, args.reply_every), "processes": 1}
    finally:
        hub.stop()


def _review(args: argparse.Namespace) -> dict[str, Any]:
    return {"review": {"worker": args.review_worker}} if args.review_worker else {}


def projection(run: dict[str, Any]) -> dict[str, Any]:
    """Messages/s one more hub core buys, from the measured hub CPU per message (with the language review's process,
    when it has one: it runs on a hub core too); the database and Redis cost per message says how many such cores one
    PostgreSQL core and one Redis core can feed."""
    hub_ms = (run["hub_cpu_ms_per_message"] + run.get("worker_cpu_ms_per_message", 0.0)) or None
    pg_ms = run.get("postgres_cpu_ms_per_message") or None
    return {
        "messages_per_s_per_hub_core": round(1000 / hub_ms) if hub_ms else None,
        "messages_per_s_per_postgres_core": round(1000 / pg_ms) if pg_ms else None,
        "hub_cores_per_postgres_core": round(pg_ms and hub_ms / pg_ms, 2) if pg_ms and hub_ms else None,
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--reply-every", type=float, default=0.02, help="seconds between agent replies")
    ap.add_argument("--postgres-url", default=os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--redis-url", default=os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    ap.add_argument("--review-worker", choices=("thread", "process"), default=None,
                    help="review.worker of the hubs (default: the hub's own default, the thread)")
    args = ap.parse_args()
    result: dict[str, Any] = {"bench": "scale", "machine": machine(), "date": time.strftime("%Y-%m-%d"),
                              "customers": args.customers, "seconds": args.seconds,
                              "review_worker": args.review_worker or "thread"}
    result["baseline_echo"] = await echo_baseline(200, min(args.seconds, 5))
    result["sqlite_1_process"] = await run_sqlite(args)
    result["postgres_redis_1_process"] = await run_postgres(1, args)
    result["postgres_redis_2_processes"] = await run_postgres(2, args)
    one, two = result["postgres_redis_1_process"], result["postgres_redis_2_processes"]
    result["speedup_2_over_1"] = round(two["messages_per_s"] / one["messages_per_s"], 2) if one["messages_per_s"] else None
    result["projection"] = projection(two)
    emit(result)


if __name__ == "__main__":
    if uvloop:
        uvloop.install()
    asyncio.run(main())
