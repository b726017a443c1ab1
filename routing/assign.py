"""Who gets a ticket: a pure choice over agents' presence and load. The store does the atomic claim.

Order: the customer's account manager when online with a free seat (the seeds' dedicated personal assistance);
else the online agent with the lowest load relative to capacity; among equals the one assigned least recently
(round robin), then the lowest id so the choice is deterministic. None means the ticket stays queued.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class AgentLoad:
    agent_id: int
    online: bool
    active: int  # open tickets (chats) assigned now
    capacity: int  # chats at once

    @property
    def free(self) -> bool:
        return self.online and self.active < self.capacity


@dataclass(frozen=True, slots=True)
class Assignment:
    agent_id: int | None
    why: str


_NEVER = datetime.min  # never assigned sorts first: a new agent gets the next ticket


def choose_agent(
    candidates: Sequence[AgentLoad],
    account_manager_id: int | None = None,
    last_assigned: Mapping[int, datetime] | None = None,
) -> Assignment:
    last = last_assigned or {}
    if account_manager_id is not None:
        manager = next((c for c in candidates if c.agent_id == account_manager_id), None)
        if manager and manager.free:
            return Assignment(manager.agent_id, f"account manager {manager.agent_id} online with a free seat")
        state = "not a candidate" if manager is None else ("offline" if not manager.online else "at capacity")
        fallback = f"account manager {account_manager_id} {state}; "
    else:
        fallback = ""
    free = [c for c in candidates if c.free and c.capacity > 0]
    if not free:
        return Assignment(None, fallback + "no online agent with free capacity: stays queued")

    def key(c: AgentLoad) -> tuple[Fraction, int, datetime, int]:
        when = last.get(c.agent_id, _NEVER)
        if when.tzinfo is not None:  # compare aware and naive stamps on one (UTC) scale
            when = when.astimezone(timezone.utc).replace(tzinfo=None)
        return Fraction(c.active, c.capacity), c.active, when, c.agent_id

    best = min(free, key=key)
    ties = [c for c in free if key(c)[:2] == key(best)[:2]]
    how = f"least loaded ({best.active}/{best.capacity})"
    if len(ties) > 1:
        how += f", round robin among {len(ties)} equally loaded"
    return Assignment(best.agent_id, fallback + f"agent {best.agent_id}: {how}")


def pick_agent(
    candidates: Sequence[AgentLoad],
    account_manager_id: int | None = None,
    last_assigned: Mapping[int, datetime] | None = None,
) -> int | None:
    """The agent to assign, or None to leave the ticket queued."""
    return choose_agent(candidates, account_manager_id, last_assigned).agent_id
