"""Singleton work (a provider poller, one IMAP mailbox, the scheduler) held by one process at a time.

With Redis, a lease key with a TTL and a heartbeat: when the holder dies its lease expires and another process
takes over within `ttl` seconds.  Without Redis there is only one process, so the work simply runs.
"""
from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable

from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.lease")

# Extend or release only while we still hold the lease: a holder that stalled past its TTL must not undo a takeover.
_EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class LocalSingleton:
    async def run(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        await fn()


class RedisSingleton:
    def __init__(self, url: str, prefix: str = "hub:", ttl: float = 10.0) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=max(ttl / 3, 1))
        self.prefix, self.ttl = prefix, ttl
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.held: set[str] = set()

    async def close(self) -> None:
        await self._redis.aclose()

    async def _acquire(self, key: str) -> bool:
        try:
            return bool(await self._redis.set(key, self.owner, nx=True, px=int(self.ttl * 1000)))
        except Exception as exc:
            log.warning("lease %s: redis unavailable (%s)", key, exc)
            return False

    async def run(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        key = f"{self.prefix}lease:{name}"
        while True:
            if not await self._acquire(key):
                await asyncio.sleep(self.ttl / 4)
                continue
            log.info("lease %s taken by %s", name, self.owner)
            self.held.add(name)
            work = asyncio.create_task(fn(), name=f"singleton:{name}")
            try:
                while not work.done():
                    done, _ = await asyncio.wait({work}, timeout=self.ttl / 3)
                    if done:
                        break
                    try:
                        kept = await self._redis.eval(_EXTEND, 1, key, self.owner, int(self.ttl * 1000))
                    except Exception as exc:
                        log.warning("lease %s heartbeat failed (%s)", name, exc)
                        kept = 1  # keep working through a short Redis blip; the TTL bounds the overlap
                    if not kept:
                        log.warning("lease %s lost; stopping the work", name)
                        work.cancel()
                        break
            finally:
                await cancel_and_wait(work)
                self.held.discard(name)
                try:
                    await self._redis.eval(_RELEASE, 1, key, self.owner)
                except Exception:
                    pass
            if work.done() and not work.cancelled() and work.exception() is None:
                return  # the work finished on its own
            if work.done() and not work.cancelled() and work.exception() is not None:
                log.error("singleton %s failed; retrying", name, exc_info=work.exception())
            await asyncio.sleep(self.ttl / 4)
