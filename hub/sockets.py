"""Bus events -> one WebSocket, in order: a bounded buffer filled by bus handlers, drained by a task that exists
only while something is waiting to be sent.

An idle socket (most chat customers, most of the time) holds no task and no queue, only this small object: that
keeps memory per connected customer low (BENCHMARKS.md, idle connections).  The queue exists only while events
wait, like the task: an empty deque alone is ~0.6 KB, 6 MB over 10,000 idle customers.
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
        self.items: deque[dict[str, Any]] | None = None
        self.task: asyncio.Task[None] | None = None

    def put(self, event: dict[str, Any]) -> None:
        """The bus handler: never blocks.  A stalled client loses live events and resynchronises from the store."""
        if self.ws.closed:
            return
        if self.items is None:
            self.items = deque()
        elif len(self.items) >= self.limit:
            return
        self.items.append(event)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        items = self.items
        try:
            while items and not self.ws.closed:
                await wire.send(self.ws, items.popleft())
        except (ConnectionResetError, RuntimeError):
            pass
        finally:
            # No await between the last check and here: a new event finds no task and no queue and starts both.
            self.task = self.items = None

    def close(self) -> None:
        self.items = None
        if self.task is not None:
            self.task.cancel()
