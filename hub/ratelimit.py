"""Fixed-window rate limits, in memory for one process or in Redis so that all processes share them."""
from __future__ import annotations

import logging
import time
from typing import Protocol

log = logging.getLogger("hub.ratelimit")


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window: float = 60.0) -> bool:
        """Count one request; True while `key` stays within `limit` per `window` seconds."""


class MemoryLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: int, window: float = 60.0) -> bool:
        slot = int(time.monotonic() // window)
        cur_slot, count = self._counts.get(key, (slot, 0))
        if cur_slot != slot:
            count = 0
            if len(self._counts) > 100_000:  # forget old windows instead of growing without bound
                self._counts = {k: v for k, v in self._counts.items() if v[0] == slot}
        self._counts[key] = (slot, count + 1)
        return count + 1 <= limit


class RedisLimiter:
    def __init__(self, url: str, prefix: str = "hub:") -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        self.prefix = prefix
        self._fallback = MemoryLimiter()

    async def hit(self, key: str, limit: int, window: float = 60.0) -> bool:
        slot = int(time.time() // window)
        rkey = f"{self.prefix}rl:{key}:{slot}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(rkey)
            pipe.expire(rkey, int(window) + 1)
            count, _ = await pipe.execute()
        except Exception as exc:  # Redis down: limit per process rather than not at all
            log.debug("rate limit falls back to memory: %s", exc)
            return await self._fallback.hit(key, limit, window)
        return int(count) <= limit

    async def close(self) -> None:
        await self._redis.aclose()


class NoLimiter:
    async def hit(self, key: str, limit: int, window: float = 60.0) -> bool:
        return True
