"""Telegram ingestion benchmark: the fake Bot API feeds N updates from M chats into a real hub, once by long polling
and once by webhook; prints JSON with updates/s ingested and update->stored latency, next to the bare fake's own
throughput measured in the same run as the baseline.

    python bench/telegram.py [--updates 10000] [--chats 500] [--database-url postgresql+asyncpg://...]
                             [--review-worker process|thread]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the `telegram` package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from hub.config import from_mapping  # noqa: E402
from hub.domain import Accepted, Inbound  # noqa: E402
from hub.services import Hub  # noqa: E402
from hub.web.app import build_app  # noqa: E402
from tests.fake_telegram import FakeTelegram, text_update  # noqa: E402

PUBLIC = "https://support.example.com"
SECRET = "bench-secret"


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else 0.0


def feed(fake: FakeTelegram, updates: int, chats: int, start: int = 0) -> None:
    for n in range(start, start + updates):
        chat = 8_000_000_000 + n % chats
        fake.push(text_update(chat, n + 1, f"message {n} about order {n * 7 % 99991}: where is it?"))


class RemoteFake:
    """The fake Bot API in its own process, so the hub under test does not share an event loop or a CPU with it."""

    def __init__(self) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(target=_fake_process, args=(child,), daemon=True)
        self.proc.start()
        self.token, self.base_url = self.conn.recv()

    async def call(self, *cmd: Any) -> Any:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.conn.send, cmd)
        return await loop.run_in_executor(None, self.conn.recv)

    async def close(self) -> None:
        await self.call("stop")
        self.proc.join(5)


def _fake_process(conn: Any) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        fake = await FakeTelegram().start()
        fake.record = False
        conn.send((fake.token, fake.base_url))
        while True:
            cmd, *args = await loop.run_in_executor(None, conn.recv)
            if cmd == "stop":
                await fake.close()
                conn.send(None)
                return
            if cmd == "feed":
                first = max(fake.enqueued_at, default=999) + 1
                feed(fake, *args)
                conn.send(first)
            elif cmd == "forward_to":
                fake.forward_to = args[0]
                conn.send(None)
            elif cmd == "webhook":
                conn.send(fake.webhook["url"])
            elif cmd == "enqueued":
                # perf_counter is CLOCK_MONOTONIC on Linux: comparable across processes of one machine
                conn.send(dict(fake.enqueued_at))

    asyncio.run(serve())


async def run_hub(db_url: str, mode: str, updates: int, chats: int, review_worker: str) -> dict[str, Any]:
    fake = RemoteFake()
    channel = {"enabled": True, "token": fake.token, "base_url": fake.base_url, "mode": mode, "poll_timeout": 1}
    if mode == "webhook":
        channel["webhook_secret"] = SECRET
    config = from_mapping({
        "database": {"url": db_url},
        "server": {"public_url": PUBLIC},
        "channels": {"webchat": {"enabled": False}, "telegram": channel},
        "rate_limits": {"enabled": False},
        "bot": {"enabled": False},
        "review": {"worker": review_worker},
    })
    hub = Hub(config)
    stored_at: dict[int, float] = {}
    deliver = hub.intake.deliver

    async def timed(inbound: Inbound) -> Accepted:
        accepted = await deliver(inbound)
        stored_at[inbound.raw["update"]["update_id"]] = time.perf_counter()
        return accepted

    hub.intake.deliver = timed  # type: ignore[method-assign]
    server = TestServer(build_app(config, hub), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        await fake.call("forward_to", f"http://127.0.0.1:{server.port}")
        if mode == "webhook":
            while await fake.call("webhook") != PUBLIC + "/telegram/webhook":
                await asyncio.sleep(0.01)
        t0 = time.perf_counter()
        first = await fake.call("feed", updates, chats, 0)
        while len(stored_at) < updates:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        enqueued = await fake.call("enqueued")
        lat = [(stored_at[i] - enqueued[i]) * 1000 for i in range(first, first + updates)]
        return {"updates": updates, "chats": chats, "seconds": round(elapsed, 2),
                "updates_per_s": round(updates / elapsed, 1),
                "update_to_stored_ms": {"p50": round(_pct(lat, 50), 1), "p99": round(_pct(lat, 99), 1), "max": round(max(lat), 1)}}
    finally:
        await server.close()
        await fake.close()


async def baseline(fake: FakeTelegram, updates: int, chats: int) -> dict[str, Any]:
    """The bare fake: empty getUpdates round trips, and fetching+confirming updates without storing them."""
    async with aiohttp.ClientSession() as s:
        url = f"{fake.base_url}{fake.token}/getUpdates"
        n, t0 = 2000, time.perf_counter()
        for _ in range(n):
            async with s.post(url, json={"timeout": 0}) as r:
                await r.read()
        rtt = n / (time.perf_counter() - t0)
        feed(fake, updates, chats, start=len(fake.enqueued_at))
        got, offset, t0 = 0, 0, time.perf_counter()
        while got < updates:
            async with s.post(url, json={"offset": offset, "limit": 100, "timeout": 0}) as r:
                batch = (await r.json())["result"]
            got += len(batch)
            offset = batch[-1]["update_id"] + 1
        fetch = updates / (time.perf_counter() - t0)
        async with s.post(url, json={"offset": offset, "timeout": 0}) as r:
            await r.read()
    # Webhook baseline: the fake pushing to an endpoint that only answers 200.
    app = web.Application()
    app.router.add_post("/telegram/webhook", lambda request: _ok(request))
    sink = TestServer(app, host="127.0.0.1", port=0)
    await sink.start_server()
    before = len(fake.pending)
    fake.forward_to = f"http://127.0.0.1:{sink.port}"
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{fake.base_url}{fake.token}/setWebhook", json={"url": PUBLIC + "/telegram/webhook"}) as r:
            await r.read()
        feed(fake, updates, chats, start=len(fake.enqueued_at))
        t0 = time.perf_counter()
        while len(fake.pending) > before:
            await asyncio.sleep(0.005)
        push = updates / (time.perf_counter() - t0)
        async with s.post(f"{fake.base_url}{fake.token}/deleteWebhook", json={}) as r:
            await r.read()
    await sink.close()
    return {"getUpdates_round_trips_per_s": round(rtt, 1), "getUpdates_fetch_updates_per_s": round(fetch, 1),
            "webhook_push_updates_per_s": round(push, 1)}


async def _ok(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({})


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--updates", type=int, default=10_000)
    ap.add_argument("--chats", type=int, default=500)
    ap.add_argument("--database-url", default=None, help="default: a fresh SQLite file per mode")
    ap.add_argument("--review-worker", choices=("thread", "process"), default="process",
                    help="review.worker of the hub (the shipped config.yaml: process)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tmp = tempfile.mkdtemp(prefix="tgbench")
    result: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}}
    async with FakeTelegram() as fake:
        fake.record = False
        result["baseline_fake"] = await baseline(fake, args.updates, args.chats)
    for mode in ("polling", "webhook"):
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/{mode}.db"
        result[mode] = await run_hub(url, mode, args.updates, args.chats, args.review_worker)
    result["database"] = "postgresql" if args.database_url else "sqlite"
    result["review_worker"] = args.review_worker
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
