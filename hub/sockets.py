"""Bus events -> one WebSocket, in order: a bounded buffer filled by bus handlers, drained by a task that exists
only while something is waiting to be sent.

An idle socket (most chat customers, most of the time) holds no task and no queue, only this small object: that
keeps memory per connected customer low (BENCHMARKS.md, idle connections).
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from aiohttp import web

from hub import wire


class Feed:
    __slots__ = ("ws", "limit", "items", "task")

    def __init__(self, ws: web.WebSocketResponse, limit: int) -> None:
        self.ws, self.limit = ws, limit
        self.items: deque[dict[str, Any]] = deque()
        self.task: asyncio.Task[None] | None = None

    def put(self, event: dict[str, Any]) -> None:
        """The bus handler: never blocks.  A stalled client loses live events and resynchronises from the store."""
        if len(self.items) >= self.limit or self.ws.closed:
            return
        self.items.append(event)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.items and not self.ws.closed:
                await wire.send(self.ws, self.items.popleft())
        except (ConnectionResetError, RuntimeError):
            self.items.clear()
        finally:
            self.task = None  # no await between the last check and here: a new event starts a new task

    def close(self) -> None:
        self.items.clear()
        if self.task is not None:
            self.task.cancel()
