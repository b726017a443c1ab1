"""Live events (ticket.created, message.created, ticket.updated, callback.due, typing) for sockets and workers.

Nothing durable lives only here: the database is the truth and a socket that missed events reloads from it.
Local subscribers are always served at once, in-process; with Redis, events also cross to other processes,
and a Redis outage only cuts that crossing until it recovers on its own.
"""
from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hub import wire
from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.bus")

Handler = Callable[[dict[str, Any]], None]
# Called with (topic, event) for every event this process publishes (never for those arriving from other
# processes), so work done per event, such as queueing webhooks, happens once across the cluster.
Tap = Callable[[str, dict[str, Any]], Awaitable[None]]

AGENTS = "agents"  # every queue event, for agent consoles
# Ended sessions, {"token_hash"} on logout or {"agent_id"} on deactivation: every process closes the sockets they
# opened.  Kept apart from AGENTS so consoles never see it.
SESSIONS = "sessions"


def chat_topic(customer_id: int) -> str:
    return f"chat:{customer_id}"


class Bus(Protocol):
    healthy: bool
    taps: list[Tap]

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...
    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]: ...


class LocalBus:
    """In-process fan-out.  Handlers must not block: they put the event on a queue and return."""

    remote = False

    healthy = True

    def __init__(self) -> None:
        self._subs: dict[str, set[Handler]] = defaultdict(set)
        self.taps: list[Tap] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subs.clear()

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        self._subs[topic].add(handler)

        def unsubscribe() -> None:
            subs = self._subs.get(topic)
            if subs is not None:
                subs.discard(handler)
                if not subs:
                    del self._subs[topic]

        return unsubscribe

    def dispatch(self, topic: str, event: dict[str, Any]) -> None:
        for handler in tuple(self._subs.get(topic, ())):
            try:
                handler(event)
            except Exception:  # one broken subscriber must not stop the others
                log.exception("bus handler failed on %s", topic)

    async def _tap(self, topic: str, event: dict[str, Any]) -> None:
        for tap in self.taps:
            try:
                await tap(topic, event)
            except Exception:  # the change is committed; a failing tap must not fail the request that made it
                log.exception("bus tap failed on %s %s", topic, event.get("type"))

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.dispatch(topic, event)
        if self.taps:  # most hubs have none (no webhook endpoint): no coroutine per event then
            await self._tap(topic, event)


class RedisBus(LocalBus):
    remote = True  # publishing waits for a round trip: callers with many events publish them concurrently

    def __init__(self, url: str, prefix: str = "hub:") -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_connect_timeout=2, health_check_interval=10)
        self._channel = f"{prefix}bus"
        self._origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self.healthy = False
        self._ready = asyncio.Event()
        # Events waiting for Redis: publishers that arrive while a round trip is under way share the next one
        # (one pipelined write), and each still returns only once its own event was handed to Redis.
        self._outgoing: list[tuple[bytes, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-bus")
        try:  # serve at once if Redis is there; without it the hub still starts, degraded
            await asyncio.wait_for(self._ready.wait(), 3)
        except asyncio.TimeoutError:
            log.warning("redis bus not connected yet; live events stay in this process until it is")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self._redis.aclose()
        await super().stop()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.dispatch(topic, event)
        if self.taps:  # most hubs have none (no webhook endpoint): no coroutine per event then
            await self._tap(topic, event)
        if not self.healthy:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outgoing.append((wire.dumps({"o": self._origin, "t": topic, "e": event}), done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="redis-publish")
        await done

    async def _send(self) -> None:
        while self._outgoing:
            batch, self._outgoing = self._outgoing, []
            try:
                if len(batch) == 1:
                    await self._redis.publish(self._channel, batch[0][0])
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for payload, _ in batch:
                            pipe.publish(self._channel, payload)
                        await pipe.execute()
            except Exception as exc:
                self.healthy = False
                log.warning("redis publish failed (%s); live events stay local until it recovers", exc)
            for _, done in batch:  # published or not, the caller goes on: nothing durable lives on the bus
                if not done.done():
                    done.set_result(None)

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                async with self._redis.pubsub() as ps:
                    await ps.subscribe(self._channel)
                    self.healthy = True
                    self._ready.set()
                    delay = 0.2
                    log.info("redis bus connected")
                    async for msg in ps.listen():
                        if msg.get("type") != "message":
                            continue
                        data = wire.loads(msg["data"])
                        if data.get("o") != self._origin:
                            self.dispatch(data["t"], data["e"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.healthy:
                    log.warning("redis bus lost (%s); retrying", exc)
                self.healthy = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


def make_bus(redis_url: str | None, prefix: str = "hub:") -> Bus:
    return RedisBus(redis_url, prefix) if redis_url else LocalBus()
