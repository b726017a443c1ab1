"""Bus events -> one WebSocket: a bounded queue filled by bus handlers and a task that drains it in order."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from hub import wire


def enqueue(queue: asyncio.Queue[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    """A bus handler that never blocks: a stalled client loses live events and resynchronises from the store."""

    def put(event: dict[str, Any]) -> None:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            pass

    return put


async def pump(ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while not ws.closed:
        event = await queue.get()
        try:
            await wire.send(ws, event)
        except (ConnectionResetError, RuntimeError):
            return
