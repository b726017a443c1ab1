"""Background work that must outlive its own failures, shared by the outbox, the webhook sender and the survey
planner: a sweep that raises is logged and tried again on the next turn, so one bad row never stops a sender for
good, and stopping waits for the deliveries already started.  Imports only the standard library."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["drain", "repeat"]

log = logging.getLogger("hub.periodic")


async def repeat(step: Callable[[], Awaitable[object]], interval: float | Callable[[], float], what: str) -> None:
    """Run `step` forever, `interval` seconds (or what the callable says at each turn) after each run ends."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(interval() if callable(interval) else interval)


async def drain(tasks: set[asyncio.Task[object]]) -> None:
    """Wait until every task in `tasks` is done, including those the finishing ones start."""
    while tasks:
        await asyncio.gather(*tuple(tasks), return_exceptions=True)
