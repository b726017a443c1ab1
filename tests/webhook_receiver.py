"""A real aiohttp webhook receiver on a chosen port, started and stopped by a test to play its downtime."""
from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.webhooks.signing import verify


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receiver:
    port: int
    secret: str
    fail_first: int = 0  # answer 500 to this many requests before accepting
    delay_first: float = 0.0  # sleep this long on the first request (a receiver slower than the timeout)
    now: Any = time.time  # the receiver's clock for the timestamp check (a test with a frozen hub clock swaps it)
    got: list[dict[str, Any]] = field(default_factory=list)  # every request that arrived, accepted or not
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> body, de-duplicated
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        h = request.headers
        entry = {"headers": dict(h), "body": body,
                 "valid": verify(self.secret, h.get("X-Hub-Timestamp", ""), body, h.get("X-Hub-Signature", ""), now=self.now())}
        self.got.append(entry)
        if len(self.got) == 1 and self.delay_first:
            await asyncio.sleep(self.delay_first)
        if len(self.got) <= self.fail_first:
            return web.Response(status=500, text="not today")
        if not entry["valid"]:
            return web.Response(status=401, text="bad signature")
        self.accepted.setdefault(h["X-Hub-Event-Id"], await request.json())
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def restart_delivers(config: Any, rx: Receiver, clock: Any, event_ids: Any) -> None:
    """The crashed process is abandoned as it stands (never shut down); another starts on the same database and
    delivers exactly `event_ids`, each recorded as sent (the sweeper's attempts are not drained, so the wait is on
    the rows)."""
    from sqlalchemy import select

    from hub.store.schema import webhook_deliveries as wd
    from tests.dovecot import wait_until
    from tests.hubtest import running_hub

    async with running_hub(config, clock=clock) as h:
        async def all_in() -> bool:
            async with h.hub.db.read() as conn:
                states = set((await conn.execute(select(wd.c.state))).scalars())
            return set(rx.accepted) == set(event_ids) and states == {"sent"}

        try:
            await wait_until(all_in)
        except TimeoutError:
            async with h.hub.db.read() as conn:
                rows = {r.event_id: (r.event, r.state) for r in (await conn.execute(select(wd))).all()}
            raise AssertionError(
                f"not delivered: {sorted(set(event_ids) - set(rx.accepted))}; delivered but not queued before: "
                f"{ {i: b.get('type') for i, b in rx.accepted.items() if i not in set(event_ids)} }; "
                f"rows not sent: { {i: v for i, v in rows.items() if v[1] != 'sent'} }") from None
        await h.hub.webhooks.drain()


async def assert_a_restart_sends_nothing(config: Any, rx: Receiver, clock: Any) -> None:
    """Another start on the same database, after every event was delivered: no delivery again, every row sent."""
    from sqlalchemy import select

    from hub.store.schema import webhook_deliveries as wd
    from tests.hubtest import running_hub

    got = len(rx.got)
    async with running_hub(config, clock=clock) as h:
        await h.hub.webhooks.sweep()
        await h.hub.webhooks.drain()
        async with h.hub.db.read() as conn:
            states = (await conn.execute(select(wd.c.state))).scalars().all()
    assert len(rx.got) == got and set(states) == {"sent"}
