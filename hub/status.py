"""The ticket status machine, in one place.  Anything else that changes a status goes through `check`."""
from __future__ import annotations

from hub.domain import Status

# Which status may follow which.  `assigned -> queued` is a transfer to a department; `pending` means the agent
# is waiting on the customer and returns to `assigned` when the customer writes.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.BOT: frozenset({Status.QUEUED, Status.ASSIGNED, Status.RESOLVED, Status.CLOSED}),
    Status.QUEUED: frozenset({Status.ASSIGNED, Status.QUEUED, Status.RESOLVED, Status.CLOSED}),
    Status.ASSIGNED: frozenset({Status.QUEUED, Status.ASSIGNED, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.ASSIGNED, Status.QUEUED, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.QUEUED, Status.BOT, Status.ASSIGNED, Status.CLOSED}),
    Status.CLOSED: frozenset(),  # a closed ticket stays closed; a new message opens a linked follow-up
}


class InvalidTransition(Exception):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"a {current.value} ticket cannot become {wanted.value}")
        self.current = current
        self.wanted = wanted


def check(current: Status | str, wanted: Status | str) -> Status:
    cur, new = Status(current), Status(wanted)
    if new not in TRANSITIONS[cur]:
        raise InvalidTransition(cur, new)
    return new


def allowed_from(wanted: Status) -> tuple[str, ...]:
    """The statuses from which `wanted` may be reached, for conditional UPDATEs (`WHERE status IN ...`)."""
    return tuple(s.value for s, nxt in TRANSITIONS.items() if wanted in nxt)
