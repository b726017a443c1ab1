"""JSON on the wire: WebSocket frames and bus payloads encoded with orjson, each event once for all its sockets.

orjson encodes a chat event about 15x faster than the standard library (bench figures in BENCHMARKS.md) and
writes UTF-8 directly, which is what a WebSocket text frame carries.  Values orjson refuses (integers past 64 bits,
odd keys) fall back to the standard encoder, so a frame is never lost to the faster path.

An event published on the bus reaches every subscribed socket as the same dict object: `frame()` remembers the
last few encodings by object, so a broadcast to N agent consoles is encoded once, not N times.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import orjson
from aiohttp import WSMsgType, web

_RECENT = 512  # events kept encoded: more than one loop turn's worth of broadcasts


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def loads(data: str | bytes) -> Any:
    return orjson.loads(data)


class _Frames:
    """id(event) -> (event, bytes).  The entry holds the event itself, so its id cannot be reused by another object
    while the entry lives."""

    def __init__(self) -> None:
        self._cache: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()

    def __call__(self, event: Any) -> bytes:
        hit = self._cache.get(id(event))
        if hit is not None and hit[0] is event:
            return hit[1]
        data = dumps(event)
        self._cache[id(event)] = (event, data)
        if len(self._cache) > _RECENT:
            self._cache.popitem(last=False)
        return data


frame = _Frames()


async def send(ws: web.WebSocketResponse, event: Any) -> None:
    """A bus event as a JSON text frame: one shared by many sockets is encoded only the first time."""
    await ws.send_frame(frame(event), WSMsgType.TEXT)


async def send_one(ws: web.WebSocketResponse, value: Any) -> None:
    """A frame for this socket alone (an ack, an error): encoded without being remembered."""
    await ws.send_frame(dumps(value), WSMsgType.TEXT)
