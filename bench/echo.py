"""The same-run baseline of the chat benches: a bare aiohttp WebSocket echo's round trips per second, in a process
of its own, so that a figure of the hub can be read against what this machine does at the moment it ran."""
from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import free_port, uvloop


def _echo_server(port: int) -> None:
    if uvloop:
        uvloop.install()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def echo_baseline(clients: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    proc = multiprocessing.Process(target=_echo_server, args=(port,), daemon=True)
    proc.start()
    await asyncio.sleep(1.0)
    count = 0
    stop = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal count
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
            while time.perf_counter() < stop:
                await ws.send_str('{"type":"message","client_id":"x","text":"hello"}')
                await ws.receive()
                count += 1

    async with aiohttp.ClientSession() as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    proc.terminate()
    proc.join()
    return {"clients": clients, "round_trips_per_s": round(count / elapsed)}
