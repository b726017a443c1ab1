"""Behind a reverse proxy every request comes from the proxy's address: per-IP limits must use the client address
the trusted proxy reports, and nobody else may choose their address with X-Forwarded-For."""
from __future__ import annotations

import asyncio
import time

from tests.hubtest import hub_config, running_hub

BODY = {"name": "A", "email": "a@example.com", "message": "hello"}


async def _fresh_window() -> None:
    """The limiter counts per wall-clock minute (per monotonic minute in memory): do not straddle a boundary."""
    for clock in (time.time, time.monotonic):
        left = 60 - clock() % 60
        if left < 5:
            await asyncio.sleep(left + 0.1)


async def _posts(h, forwarded: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    out = []
    for f in forwarded:
        status, _ = await h.api("POST", "/contact", headers={"X-Forwarded-For": f}, json=BODY)
        out.append(status)
    return out


async def test_trusted_proxy_reports_the_client_address(sqlite_url: str) -> None:
    config = hub_config(sqlite_url, server={"trusted_proxies": ["127.0.0.1"]}, rate_limits={"public_per_minute": 2})
    async with running_hub(config) as h:
        await _fresh_window()
        # Two customers behind the same proxy have a budget each; a forged leftmost hop does not buy a new one.
        got = await _posts(h, ["203.0.113.1", "203.0.113.1", "203.0.113.2", "198.51.100.9, 203.0.113.1", "203.0.113.2"])
        assert got == [201, 201, 201, 429, 201]


async def test_untrusted_peer_cannot_choose_its_address(sqlite_url: str) -> None:
    config = hub_config(sqlite_url, rate_limits={"public_per_minute": 2})
    async with running_hub(config) as h:
        await _fresh_window()
        assert await _posts(h, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [201, 201, 429]
