"""Publishing queue events after a commit, in the shapes the agent socket and console expect."""
from __future__ import annotations

from typing import Any

from hub.bus import AGENTS, Bus
from hub.domain import Message, Ticket
from hub.serialize import message_json, ticket_json


class Events:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def ticket(self, kind: str, t: Ticket, **extra: Any) -> None:
        await self.bus.publish(AGENTS, {"type": kind, "ticket": ticket_json(t), **extra})

    async def message(self, m: Message, t: Ticket | None = None) -> None:
        event: dict[str, Any] = {"type": "message.created", "message": message_json(m)}
        if t is not None:
            event["ticket"] = ticket_json(t)
        await self.bus.publish(AGENTS, event)

    async def survey_answered(self, survey: dict[str, Any], t: Ticket | None) -> None:
        """A stored survey answer (the first or a changed score), after its commit: see hub/surveys/records.py."""
        from hub.surveys.records import answered_event

        await self.bus.publish(AGENTS, answered_event(survey, ticket_json(t) if t is not None else None))

    async def raw(self, event: dict[str, Any]) -> None:
        await self.bus.publish(AGENTS, event)
