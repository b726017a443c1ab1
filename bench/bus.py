"""What the Redis bus costs a hub process per event: publishing, and receiving an event published by another process.

    python bench/bus.py [--events 20000] [--redis redis://127.0.0.1:6379/15]

Every hub process of a cluster receives every event the cluster publishes (one Redis channel, hub.bus.RedisBus),
so the receiving cost is paid once per process per event: it is the term that grows with the number of processes
in the scale-out projection (BENCHMARKS.md).  A publisher process sends `--events` chat-sized events in bursts of
100 (concurrent publishes share a pipelined write, as under load); a receiver process with no local subscribers
counts them.  Each process reports its own CPU per event.  Baseline, same run: redis-py alone, publishing the same
payloads in pipelines of 100 and receiving them on a bare PubSub.  Prints JSON.
"""
from __future__ import annotations

import os
import sys

# Run as a script, this directory comes first on sys.path; put the repo root there instead.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import asyncio
import multiprocessing
import time
import uuid
from typing import Any

from bench.common import emit, machine, uvloop  # noqa: E402

EVENT = {"type": "message.created", "ticket_id": 123456, "message": {
    "id": 987654, "ticket_id": 123456, "author": "customer", "text": "สวัสดีค่ะ my order has not arrived yet",
    "created_at": "2026-12-05T04:10:00.123456+00:00", "channel": "webchat"}}


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _receiver(url: str, prefix: str, events: int, bare: bool, ready: Any, out: Any) -> None:
    async def run() -> tuple[float, int]:
        got, cpu0 = 0, 0.0
        done = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []  # held, so the listener is not collected while it runs
        if bare:
            import redis.asyncio as aioredis

            r = aioredis.from_url(url)
            ps = r.pubsub()
            await ps.subscribe(f"{prefix}bus")
            cpu0 = _cpu()  # from here on: receiving only, not start-up
            ready.set()

            async def listen() -> None:
                nonlocal got
                async for msg in ps.listen():
                    if msg.get("type") == "message":
                        got += 1
                        if got == events:
                            done.set()
            tasks.append(asyncio.create_task(listen()))
        else:
            from hub.bus import RedisBus

            bus = RedisBus(url, prefix)
            original = bus.dispatch

            def dispatch(topic: str, event: dict[str, Any]) -> None:  # counts, then does the bus's own work
                nonlocal got
                original(topic, event)
                got += 1
                if got == events:
                    done.set()
            bus.dispatch = dispatch  # type: ignore[method-assign]
            await bus.start()
            cpu0 = _cpu()
            ready.set()
        await asyncio.wait_for(done.wait(), 600)
        return _cpu() - cpu0, got

    if uvloop:
        uvloop.install()
    out.send(asyncio.run(run()))


async def _publish(url: str, prefix: str, events: int, bare: bool) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of publishing `events` in bursts of 100."""
    if bare:
        import redis.asyncio as aioredis

        from hub import wire

        r = aioredis.from_url(url)
        payload = wire.dumps({"o": "bench", "t": "agents", "e": EVENT})
        cpu0, t0 = _cpu(), time.perf_counter()
        for _ in range(events // 100):
            async with r.pipeline(transaction=False) as pipe:
                for _ in range(100):
                    pipe.publish(f"{prefix}bus", payload)
                await pipe.execute()
        took = _cpu() - cpu0, time.perf_counter() - t0
        await r.aclose()
        return took
    from hub.bus import RedisBus

    bus = RedisBus(url, prefix)
    await bus.start()
    cpu0, t0 = _cpu(), time.perf_counter()
    for _ in range(events // 100):
        await asyncio.gather(*(bus.publish("agents", EVENT) for _ in range(100)))
    took = _cpu() - cpu0, time.perf_counter() - t0
    await bus.stop()
    return took


async def measure(url: str, events: int, bare: bool) -> dict[str, Any]:
    prefix = f"hubbench:{uuid.uuid4().hex[:8]}:"
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    ready = spawn.Event()
    proc = spawn.Process(target=_receiver, args=(url, prefix, events, bare, ready, child), daemon=True)
    proc.start()
    await asyncio.get_running_loop().run_in_executor(None, ready.wait, 60)
    await asyncio.sleep(0.2)
    pub_cpu, wall = await _publish(url, prefix, events, bare)
    recv_cpu, got = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    proc.join(5)
    return {"events": got, "events_per_s": round(events / wall),
            "publisher_cpu_us_per_event": round(pub_cpu * 1e6 / events, 1),
            "receiver_cpu_us_per_event": round(recv_cpu * 1e6 / max(got, 1), 1)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--redis", default=os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = ap.parse_args()
    from redis.utils import HIREDIS_AVAILABLE

    emit({"bench": "bus", "machine": machine(), "date": time.strftime("%Y-%m-%d"), "hiredis": HIREDIS_AVAILABLE,
          "baseline_redis_py": await measure(args.redis, args.events, bare=True),
          "hub_redis_bus": await measure(args.redis, args.events, bare=False)})


if __name__ == "__main__":
    if uvloop:
        uvloop.install()
    asyncio.run(main())
