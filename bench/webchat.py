"""Web chat load: N customers chatting while an agent replies, against a bare aiohttp WebSocket echo baseline.

    python bench/webchat.py [--customers 100 1000] [--seconds 10]
    python bench/webchat.py --new-conversations 200 [--seconds 10]   (an agent replies, claims and transfers meanwhile)

Prints JSON: customer messages/s stored (acked), p50/p99 customer-message -> agent-socket event, p50/p99
agent-reply -> customer-socket, the hub's peak RSS and CPU per message, and the echo baseline's round trips/s.
"""
from __future__ import annotations

import os as _os
import sys as _sys

# Run as a script, bench/ comes first on sys.path, where email.py and telegram.py would hide the real packages.
_sys.path[0] = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))


import argparse
import asyncio
import gc
import os
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.agent_load import AGENT, Agent, login  # noqa: E402
from bench.common import HubProcess, children, cpu_seconds, emit, machine, pct, peak_rss_mb, rss_mb, uvloop  # noqa: E402
from bench.echo import echo_baseline  # noqa: E402


async def _lag_probe(out: list[float], every: float = 0.002) -> None:
    """Appends how late each `every`-second sleep of this process's loop woke up, in ms, until cancelled."""
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(every)
        out.append((time.perf_counter() - t0 - every) * 1000)


async def hub_load(
    hubs: list[HubProcess], customers: int, seconds: float, reply_every: float, rate: float | None = None, meter: Any = None,
    idle: int = 0,
) -> dict[str, Any]:
    """Customers chatting while an agent replies, over one or several hub processes: customer i talks to
    hubs[i % n] and its replies are posted to the next process.  Closed loop (each customer sends its next message
    on the ack: the ceiling) or, with `rate`, open loop at `rate` messages/s over all customers (latency at a
    sustained load).  `meter` (start/stop) measures other processes over the timed window."""
    n = len(hubs)
    to_agent: list[float] = []
    to_customer: list[float] = []
    sent_at: dict[str, float] = {}
    reply_seen: dict[str, float] = {}  # agent reply text -> when its customer got it
    acked = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        token = await login(session, hubs[0].url)
        agent_ws = await session.ws_connect(f"{hubs[0].url}/ws/agent?token={token}", max_msg_size=0)

        async def agent_listener() -> None:
            async for msg in agent_ws:
                ev = msg.json()
                if ev.get("type") == "message.created" and ev["message"]["author"] == "customer":
                    t = sent_at.pop(ev["message"]["text"], None)
                    if t is not None:
                        to_agent.append((time.perf_counter() - t) * 1000)

        listener = asyncio.create_task(agent_listener())
        idle_sockets: list[aiohttp.ClientWebSocketResponse] = []
        memory: dict[str, Any] = {}
        if idle:
            # Connected customers who only said hello and stay silent through the run (memory per connection).
            rss0 = [rss_mb(h.pid) or 0.0 for h in hubs]

            async def idler(i: int) -> None:
                ws = await session.ws_connect(f"{hubs[i % n].url}/ws/chat")
                await ws.send_json({"type": "hello", "name": f"idle {i}"})
                await ws.receive_json()
                idle_sockets.append(ws)

            for start in range(0, idle, 200):
                await asyncio.gather(*(idler(i) for i in range(start, min(idle, start + 200))))
            await asyncio.sleep(1.0)
            rss1 = [rss_mb(h.pid) or 0.0 for h in hubs]
            memory = {"idle_customers": idle, "hub_rss_mb_before": rss0, "hub_rss_mb_with_idle": rss1,
                      "kb_per_idle_connection": round((sum(rss1) - sum(rss0)) * 1024 / idle, 1)}
        sockets = []
        for i in range(customers):
            ws = await session.ws_connect(f"{hubs[i % n].url}/ws/chat")
            await ws.send_json({"type": "hello", "name": f"customer {i}"})
            await ws.receive_json()
            sockets.append(ws)
        tickets: dict[int, int] = {}

        async def open_conversation(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            # Untimed warm-up: ticket creation (routing, SLA jobs) is measured apart from connected customers chatting.
            await ws.send_json({"type": "message", "client_id": f"{i}-0", "text": f"hello from customer {i}"})
            while (frame := await ws.receive_json())["type"] != "ack":
                pass
            tickets[i] = frame["ticket_id"]

        t_open = time.perf_counter()
        await asyncio.gather(*(open_conversation(i, ws) for i, ws in enumerate(sockets)))
        opened_per_s = round(customers / (time.perf_counter() - t_open))
        await asyncio.sleep(0.5)
        sent_at.clear()
        to_agent.clear()
        # The load generator's own full collections (its 1,000 sockets' objects) stopped its loop for up to 0.8 s,
        # which the latencies measured as the hub's: its start-up objects are frozen, as `hub serve` does.
        gc.collect()
        gc.freeze()
        if meter:
            meter.start()
        t_start = time.perf_counter()
        deadline = t_start + seconds

        def seen(frame: dict[str, Any]) -> None:
            if frame.get("type") == "message" and frame.get("author") == "agent":
                reply_seen.setdefault(frame.get("text"), time.perf_counter())

        interval = customers / rate if rate else 0.0
        last_ack = [t_start]

        async def customer(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal acked
            acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            async def reader() -> None:
                # Reads all the time, so an agent's reply is timed when it arrives, not when the customer next looks.
                async for msg in ws:
                    frame = msg.json()
                    if frame["type"] == "ack":
                        acks.put_nowait(frame)
                    else:
                        seen(frame)

            reading = asyncio.create_task(reader())
            k = 0
            next_at = t_start + interval * i / customers
            try:
                while time.perf_counter() < deadline:
                    if interval:
                        if (delay := next_at - time.perf_counter()) > 0:
                            await asyncio.sleep(delay)
                        next_at += interval
                    k += 1
                    text = f"c{i}-m{k} สวัสดี where is my order?"
                    sent_at[text] = time.perf_counter()
                    await ws.send_json({"type": "message", "client_id": f"{i}-{k}", "text": text})
                    frame = await acks.get()
                    acked += 1
                    last_ack[0] = time.perf_counter()
                    tickets.setdefault(i, frame["ticket_id"])
                # Replies still in flight when the window closes are collected for a moment more.
                await asyncio.sleep(1.0)
            finally:
                reading.cancel()

        workers = [c for h in hubs if h.proc for c in children(h.pid)]
        cpu0 = sum(cpu_seconds(h.pid) for h in hubs if h.proc)
        wcpu0 = {w: cpu_seconds(w) for w in workers}
        agent = Agent([h.url for h in hubs], token, dict(tickets), deadline - 0.5, reply_every)
        lags: list[float] = []
        probe = asyncio.create_task(_lag_probe(lags))
        await asyncio.gather(*(customer(i, ws) for i, ws in enumerate(sockets)))
        probe.cancel()
        reply_sent, agent_report = await agent.results()
        to_customer.extend((reply_seen[t] - at) * 1000 for t, at in reply_sent.items() if t in reply_seen)
        elapsed = max(deadline, last_ack[0]) - t_start  # the timed window, not the tail that collects late replies
        cpu = sum(cpu_seconds(h.pid) for h in hubs if h.proc) - cpu0
        # A worker started during the window (the classifier's, on its first batch) counts from zero.
        workers = {c for h in hubs if h.proc for c in children(h.pid)}
        wcpu = sum(cpu_seconds(w) - wcpu0.get(w, 0.0) for w in workers if Path(f"/proc/{w}").exists())
        if meter:
            meter.stop()

        listener.cancel()
        for ws in sockets + idle_sockets:
            await ws.close()
        await agent_ws.close()
    return {
        "mode": f"open loop at {rate:g} msg/s" if rate else "closed loop (ceiling)",
        "customers": customers,
        "processes": n,
        "seconds": round(elapsed, 2),
        "new_conversations_per_s": opened_per_s,
        "messages_stored": acked,
        "messages_per_s": round(acked / elapsed),
        "customer_to_agent_ms": {"p50": pct(to_agent, 50), "p99": pct(to_agent, 99), "n": len(to_agent)},
        "agent_reply_to_customer_ms": {"p50": pct(to_customer, 50), "p99": pct(to_customer, 99), "n": len(to_customer)},
        **agent_report,
        # How late the load generator's own loop ran (a 2 ms sleep's overshoot): latencies below this are its own.
        "load_generator_lag_ms": {"p99": pct(lags, 99), "max": pct(lags, 100)},
        "hub_cpu_ms_per_message": round(cpu * 1000 / max(acked, 1), 3),
        "worker_cpu_ms_per_message": round(wcpu * 1000 / max(acked, 1), 3),  # the hub's child processes
        "hub_peak_rss_mb": [peak_rss_mb(h.pid) for h in hubs if h.proc],
        **memory,
    }


async def new_conversations(hub: HubProcess, clients: int, seconds: float, reply_every: float = 0.0,
                            tickets: list[int] | None = None) -> dict[str, Any]:
    """Every message opens a conversation: `clients` visitors at a time, each connecting afresh, saying hello and
    one message, waiting for its ack and leaving (closed loop).  Each ack is a committed new customer, ticket,
    routing decision and SLA jobs.  With `reply_every` and `tickets` (opened earlier), an agent works those tickets
    meanwhile from its own process, as in `hub_load`, and its requests are timed: agents first, during a flood of
    new visitors.  The ticket ids acknowledged are returned under "tickets"."""
    acked = 0
    took: list[float] = []
    opened: list[int] = []
    stop = time.perf_counter() + seconds

    async def visitor(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal acked
        k = 0
        while time.perf_counter() < stop:
            k += 1
            t0 = time.perf_counter()
            async with session.ws_connect(f"{hub.url}/ws/chat") as ws:
                await ws.send_json({"type": "hello", "name": f"visitor {i}-{k}"})
                await ws.receive_json()
                await ws.send_json({"type": "message", "client_id": "1", "text": f"v{i}-{k} สวัสดี my order has not arrived"})
                while (frame := await ws.receive_json())["type"] != "ack":
                    pass
            acked += 1
            opened.append(frame["ticket_id"])
            took.append((time.perf_counter() - t0) * 1000)

    agent = None
    if reply_every and tickets:
        async with aiohttp.ClientSession() as session:
            token = await login(session, hub.url)
        agent = Agent([hub.url], token, dict(enumerate(tickets)), stop - 0.5, reply_every)
    cpu0, own0 = cpu_seconds(hub.pid), time.process_time()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(visitor(session, i) for i in range(clients)))
        elapsed = time.perf_counter() - t0
    cpu, own = cpu_seconds(hub.pid) - cpu0, time.process_time() - own0
    agent_report: dict[str, Any] = {}
    if agent is not None:
        _, agent_report = await agent.results()
    return {
        "mode": "new conversation per message (closed loop)",
        "clients": clients,
        "seconds": round(elapsed, 2),
        "conversations": acked,
        "new_conversations_per_s": round(acked / elapsed),
        "connect_to_ack_ms": {"p50": pct(took, 50), "p99": pct(took, 99)},
        "hub_cpu_ms_per_conversation": round(cpu * 1000 / max(acked, 1), 3),
        "hub_cpu_share_of_a_core": round(cpu / elapsed, 2),
        "load_generator_cpu_share_of_a_core": round(own / elapsed, 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
        **agent_report,
        "tickets": opened,
    }


def _count_jobs(hub: HubProcess) -> int | None:
    """SLA jobs in the hub's SQLite file (the proof that routing and SLA ran for each conversation)."""
    import sqlite3

    path = Path(hub.dir) / "hub.db"
    if not path.exists():
        return None
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM jobs WHERE key LIKE 'sla:%'").fetchone()[0])


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--reply-every", type=float, default=0.02, help="seconds between agent replies")
    ap.add_argument("--rate", type=float, nargs="*", default=[1000.0], help="open-loop offered rates (msg/s); the closed loop always runs")
    ap.add_argument("--review-worker", choices=("thread", "process"), default=None, help="review.worker of the hub")
    ap.add_argument("--idle", type=int, default=0, help="silent connected customers kept through every run")
    ap.add_argument("--database-url", default=None, help="e.g. postgresql+asyncpg://postgres@127.0.0.1/bench")
    ap.add_argument("--redis-url", default=None)
    ap.add_argument("--new-conversations", type=int, default=0, metavar="CLIENTS",
                    help="only the new-conversation run: this many visitors at a time, each message a new conversation")
    args = ap.parse_args()
    result: dict[str, Any] = {"bench": "webchat", "machine": machine(), "date": time.strftime("%Y-%m-%d")}
    result["baseline_echo"] = await echo_baseline(200, min(args.seconds, 5))
    runs = []
    # The same hub settings for every run, the new-conversation one included.
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database"] = {"url": args.database_url}
    if args.redis_url:
        overrides["redis"] = {"url": args.redis_url}
    if args.review_worker:
        overrides["review"] = {"worker": args.review_worker}
    for n in args.customers if not args.new_conversations else ():
        hub = HubProcess(overrides)
        hub.add_agent(*AGENT)
        hub.start()
        try:
            runs.append(await hub_load([hub], n, args.seconds, args.reply_every, idle=args.idle))
            for rate in args.rate:
                runs.append(await hub_load([hub], n, args.seconds, args.reply_every, rate))
        finally:
            hub.stop()
    if args.new_conversations:
        hub = HubProcess(overrides)
        hub.add_agent(*AGENT)
        hub.start()
        try:
            warm = await new_conversations(hub, args.new_conversations, 2.0)  # warm-up: imports, caches, first pages
            # The agent works the warm-up's tickets while new visitors keep arriving.
            runs.append(await new_conversations(hub, args.new_conversations, args.seconds, args.reply_every,
                                                warm["tickets"][:1000]))
        finally:
            hub.stop()
        del runs[-1]["tickets"]
        runs[-1]["conversations_with_warm_up"] = warm["conversations"] + runs[-1]["conversations"]
        runs[-1]["sla_jobs"] = _count_jobs(hub)
    result["runs"] = runs
    base = result["baseline_echo"]["round_trips_per_s"]
    for r in runs:
        r["ratio_to_echo"] = round(r.get("messages_per_s", r.get("new_conversations_per_s", 0)) / base, 3) if base else None
    emit(result)


if __name__ == "__main__":
    if uvloop:
        uvloop.install()
    asyncio.run(main())
