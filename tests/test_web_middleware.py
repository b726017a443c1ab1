"""The request-scoped context variables (hub.web.middleware.scoped): each request, on one keep-alive connection
or a WebSocket, sees its own values; a task it spawned keeps them after it ends; nothing leaks outside."""
from __future__ import annotations

import asyncio
from contextvars import ContextVar

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.web import middleware

WHO: ContextVar[str | None] = ContextVar("test_who", default=None)


async def test_each_request_sees_its_own_values_and_spawned_tasks_keep_theirs() -> None:
    release = asyncio.Event()
    spawned: list[asyncio.Task[str | None]] = []

    async def later() -> str | None:
        await release.wait()
        return WHO.get()

    async def handler(request: web.Request) -> web.Response:
        spawned.append(asyncio.get_running_loop().create_task(later()))
        return web.Response(text=str(WHO.get()))

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str(f"{msg.data}:{WHO.get()}")
        return ws

    app = web.Application(middlewares=[middleware.scoped((WHO, lambda r: r.query.get("who")))])
    app.router.add_get("/", handler)
    app.router.add_get("/ws", socket)
    server = TestServer(app)  # a real server on a free port
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as s:  # one keep-alive connection for the plain requests
            ws = await s.ws_connect(server.make_url("/ws?who=socket"))
            for who in ("a", "b", "a"):
                async with s.get(server.make_url(f"/?who={who}")) as r:
                    assert await r.text() == who
            async with s.get(server.make_url("/")) as r:
                assert await r.text() == "None"  # set from this request (none given), not left from the last
            await ws.send_str("ping")
            assert (await ws.receive()).data == "ping:socket"
            await ws.close()
        release.set()
        assert [await t for t in spawned] == ["a", "b", "a", None]
        assert WHO.get() is None
    finally:
        await server.close()
