"""The review of customer messages under light load and in a flood: at a few messages a second every message is
read with the sentence encoder however long that takes; in a flood a batch is embedded only if that ends within
REVIEW_DEADLINE, so the delay stays bounded."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from hub.domain import Identity, Inbound
from tests.hubtest import hub_config, running_hub


def chat(pid: str, text: str = "where is my order?") -> Inbound:
    return Inbound(channel="webchat", provider_id=pid, sender=Identity("webchat", f"v-{pid}"), text=text,
                   received_at=datetime.now(timezone.utc))


async def test_light_load_gets_no_deadline_and_a_flood_does(sqlite_url: str) -> None:
    async with running_hub(hub_config(sqlite_url)) as h:
        escalator = h.hub.escalator
        seen: list[tuple[int, float | None]] = []
        route = escalator.pool.route

        async def recorded(reqs: Any, lexical: bool, deadline: float | None = None) -> Any:
            seen.append((len(reqs), deadline))
            return await route(reqs, lexical, deadline)

        escalator.pool.route = recorded  # type: ignore[method-assign]
        for i in range(3):  # a few messages a second
            await h.hub.intake.deliver(chat(f"calm-{i}"))
            await h.settle()
            await asyncio.sleep(0.15)
        assert seen and all(d is None for _, d in seen), seen
        seen.clear()
        # A flood: 60 messages at once (and more than LIGHT_LOAD a second).
        await asyncio.gather(*(h.hub.intake.deliver(chat(f"flood-{i}")) for i in range(60)))
        await h.settle()
        assert sum(n for n, _ in seen) == 60
        assert all(d is not None for _, d in seen), seen
