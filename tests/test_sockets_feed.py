"""hub.sockets.Feed: bus events to one socket in order, bounded, and nothing held while the socket is idle."""
from __future__ import annotations

import asyncio
import json
from typing import Any

from hub.sockets import Feed


class FakeSocket:
    def __init__(self) -> None:
        self.closed = False
        self.sent: list[Any] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def send_frame(self, data: bytes, _kind: Any) -> None:
        await self.gate.wait()
        self.sent.append(json.loads(data)["n"])


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_events_arrive_in_order_and_an_idle_feed_holds_no_queue_or_task() -> None:
    ws = FakeSocket()
    feed = Feed(ws, 10)  # type: ignore[arg-type]
    assert feed.items is None and feed.task is None
    for n in range(3):
        feed.put({"n": n})
    await _settle()
    assert ws.sent == [0, 1, 2]
    assert feed.items is None and feed.task is None  # idle again: the queue went with the task
    feed.put({"n": 3})
    await _settle()
    assert ws.sent == [0, 1, 2, 3]


async def test_a_stalled_socket_keeps_at_most_its_limit_and_close_drops_the_rest() -> None:
    ws = FakeSocket()
    ws.gate.clear()  # the client stopped reading
    feed = Feed(ws, 3)  # type: ignore[arg-type]
    for n in range(10):
        feed.put({"n": n})
    await _settle()
    ws.gate.set()
    await _settle()
    assert ws.sent == [0, 1, 2]  # the rest was dropped: the client resynchronises from the store
    ws.gate.clear()
    feed.put({"n": 10})
    feed.put({"n": 11})
    await _settle()
    feed.close()
    ws.gate.set()
    await _settle()
    assert ws.sent == [0, 1, 2] and feed.items is None and feed.task is None
    ws.closed = True
    feed.put({"n": 12})
    assert feed.items is None and feed.task is None  # a closed socket takes nothing
