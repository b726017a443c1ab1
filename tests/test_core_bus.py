"""The live bus, in-process and over Redis (two buses = two processes)."""
from __future__ import annotations

import asyncio

from hub.bus import LocalBus, RedisBus


async def test_local_bus_fans_out_and_unsubscribes() -> None:
    bus = LocalBus()
    got: list[dict] = []
    off = bus.subscribe("t", got.append)
    bus.subscribe("t", lambda e: (_ for _ in ()).throw(RuntimeError("broken subscriber")))
    await bus.publish("t", {"n": 1})
    off()
    await bus.publish("t", {"n": 2})
    assert got == [{"n": 1}]


async def test_redis_bus_crosses_processes(redis_test_url: str, redis_prefix: str) -> None:
    a, b = RedisBus(redis_test_url, redis_prefix), RedisBus(redis_test_url, redis_prefix)
    other = RedisBus(redis_test_url, redis_prefix + "other:")
    await a.start(), await b.start(), await other.start()
    try:
        at_a: list[dict] = []
        at_b: asyncio.Queue[dict] = asyncio.Queue()
        stray: list[dict] = []
        a.subscribe("chat:1", at_a.append)
        b.subscribe("chat:1", at_b.put_nowait)
        other.subscribe("chat:1", stray.append)
        await a.publish("chat:1", {"text": "สวัสดี"})
        assert await asyncio.wait_for(at_b.get(), 5) == {"text": "สวัสดี"}
        assert at_a == [{"text": "สวัสดี"}]  # local subscribers once, not again via Redis
        await asyncio.sleep(0.1)
        assert at_a == [{"text": "สวัสดี"}] and stray == []
    finally:
        await a.stop(), await b.stop(), await other.stop()


async def test_redis_bus_without_redis_stays_local() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0")
    await bus.start()
    try:
        got: list[dict] = []
        bus.subscribe("x", got.append)
        await bus.publish("x", {"ok": True})
        assert got == [{"ok": True}] and not bus.healthy
    finally:
        await bus.stop()
