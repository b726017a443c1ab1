"""The intake's responder (hub.ports.Responder): the language review of every stored customer message
(hub.escalation), then the FAQ bot, which sees the review's outcome."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.domain import Accepted, Inbound, Ticket
from hub.escalation import Escalator, Review
from hub.ports import RouteResult

log = logging.getLogger("hub.escalation")

__all__ = ["Responders"]


class Responders:
    """The intake's responder (hub.ports.Responder): the review first, then the bot, which sees its outcome."""

    def __init__(self, escalator: Escalator, assistant: Any | None) -> None:
        self.escalator, self.assistant = escalator, assistant

    def submit(self, accepted: Accepted, inbound: Inbound, new_ticket: bool,
               opened: tuple[Ticket, RouteResult] | None = None) -> Any:
        """Queue the review; a coroutine to run as a task only when the bot follows it.  `opened`: the ticket the
        message opened and its route, when the review arms what the open left to it (Placement.armed_by_review)."""
        result = self.escalator.submit(accepted, inbound, new_ticket, want_result=self.assistant is not None,
                                       opened=opened)
        if self.assistant is None:
            return None
        return self._bot_after(result, accepted, inbound, new_ticket)

    async def _bot_after(self, result: asyncio.Future[Review | None] | None, accepted: Accepted, inbound: Inbound,
                         new_ticket: bool) -> None:
        review = None
        if result is not None:
            try:
                review = await result
            except Exception:  # the message is stored; classification failing must not keep the bot from it
                log.exception("review failed on ticket %s", accepted.ticket_id)
        await self.assistant.on_customer_message(accepted, inbound, new_ticket, review)

    async def on_customer_message(self, accepted: Accepted, inbound: Inbound, new_ticket: bool) -> None:
        coro = self.submit(accepted, inbound, new_ticket)
        if coro is not None:
            await coro

    async def drain(self) -> None:
        await self.escalator.drain()
