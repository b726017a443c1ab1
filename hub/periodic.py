"""Background work that must outlive its own failures, shared by the outbox, the webhook sender and the survey
planner: a sweep that raises is logged and tried again on the next turn, so one bad row never stops a sender for
good, and stopping waits for the deliveries already started; and stopping background tasks for certain
(`cancel_and_wait`, used by every part of the hub that runs a task of its own).  Imports only the standard library."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["cancel_and_wait", "drain", "repeat"]

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


# How long a cancelled task may take to end before it is cancelled again.  Long enough for the clean-up a task does
# when it is cancelled (a LOGOUT, a last commit), short enough that a lost cancellation costs a second or two.
AGAIN_AFTER = 2.0


async def cancel_and_wait(*tasks: asyncio.Task[object] | asyncio.Future[object] | None,
                          again_after: float = AGAIN_AFTER) -> None:
    """Cancel `tasks` and return once every one has ended, cancelling again any that is still running.

    One cancel is not always enough: on Python 3.11 `asyncio.wait_for` drops a cancellation that arrives in the
    same turn of the loop as the result it waits for (aioimaplib wraps every IMAP command in it), and the task
    carries on as if never asked to stop; a plain cancel-then-gather then waits forever (seen as a mailbox that went
    back into a 1,000-second IDLE while the hub was stopping).  Like `gather(..., return_exceptions=True)`, the
    tasks' own exceptions are collected, not raised: a task that failed has nothing more to stop.
    """
    pending = {t for t in tasks if t is not None and not t.done()}
    try:
        while pending:
            for t in pending:
                t.cancel()
            _, pending = await asyncio.wait(pending, timeout=again_after)
            for t in pending:
                log.warning("task %s did not end when cancelled; cancelling it again",
                            t.get_name() if isinstance(t, asyncio.Task) else t)
    except asyncio.CancelledError:
        for t in pending:  # the caller is being cancelled: leave nothing running behind it
            t.cancel()
        raise
    for t in tasks:
        if t is not None and t.done() and not t.cancelled():
            t.exception()  # marks it retrieved, so asyncio does not log "exception was never retrieved"
