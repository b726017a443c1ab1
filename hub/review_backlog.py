"""The messages waiting for the language review (hub.escalation), bounded in memory.

Every stored customer message that gets a review carries a `messages.review_pending` mark, set in the transaction
that stored it and cleared once it has been reviewed.  The mark, not memory, is what makes a review certain: a hub
that stops with reviews waiting takes them up from the marks at its next start (`unreviewed`).

In a flood the chat's intake stores about twice what the review gets through here (it never waits for the review:
the acknowledgement goes out at the commit), so the waiting messages grew without end, each held whole in memory
(~2 KB for a chat message, a mail's body for a mail): 75 MB after ten seconds of the closed-loop bench.  Past
MAX_BACKLOG waiting, a message is kept only as its id (~100 bytes with its time), and when the messages held whole have all
been taken, the next ids are read back from the database, in their order; the review then goes on as before.
A message whose review someone waits for (the FAQ bot decides with its outcome) is always held whole.
"""
from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text

from hub.domain import Identity, Inbound
from hub.store.prepared import PreparedIn
from hub.store.schema import messages

if TYPE_CHECKING:
    from hub.escalation import Review
    from hub.sla import JobRow
    from hub.store.db import Database

__all__ = ["Backlog", "Job", "MAX_BACKLOG", "REPLAY", "UNREVIEWED", "inbound_of"]

# Messages held whole while waiting, at most (~4 MB of chat messages, about a second of the review in a flood).
MAX_BACKLOG = 2048
# Ids read back at a time: one review batch's worth (hub.escalation.REVIEW_BATCH), in one statement, so that a
# refill holds the event loop no longer than the review's own read of the batch's tickets.
REFILL = 64
REPLAY = 10_000  # unreviewed messages taken up per start (the oldest first); the rest at the next start

_COLUMNS = (messages.c.id, messages.c.ticket_id, messages.c.channel, messages.c.provider_id, messages.c.text,
            messages.c.meta, messages.c.created_at)
# What an earlier run stored and did not review, oldest first.  The bare column, as the partial index
# ix_messages_review_pending is defined: SQLite uses a partial index only for a term written as its WHERE is, and
# "review_pending IS 1" read every message of the store at each start.
UNREVIEWED = select(*_COLUMNS).where(text("messages.review_pending")).order_by(messages.c.id).limit(REPLAY)
# Messages kept as ids, read back; those reviewed meanwhile (by another process) are left out.
_SPILLED = PreparedIn(lambda ids: select(*_COLUMNS).where(messages.c.id.in_(ids))
                      .where(text("messages.review_pending")))


@dataclass(slots=True)
class Job:
    message_id: int
    ticket_id: int
    inbound: Inbound
    new_ticket: bool
    result: asyncio.Future[Review | None] | None  # for the bot, which decides with the review's outcome
    at: float  # time.monotonic() when submitted
    # The SLA jobs of the ticket this message opened, which the review arms (hub.placement's `armed_by_review`):
    # the rows planned at the open, or, once they are gone from memory, the policy to make them again with from the
    # ticket row ("": the ticket's priority's); None when there is nothing to arm.
    arm: list[JobRow] | str | None = None


def inbound_of(row: Any) -> Inbound:
    """A stored message as the review reads it: its text, subject and flags (no sender: the ticket has them)."""
    meta = row.meta or {}
    return Inbound(channel=row.channel, provider_id=row.provider_id or str(row.id), sender=Identity(row.channel, ""),
                   text=row.text, received_at=row.created_at, subject=meta.get("subject"),
                   flags=frozenset(meta.get("flags") or ()))


class Backlog:
    """Jobs held whole (`held`), then ids (`spilled`), in the order they were added."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.held: deque[Job] = deque()
        # (message id, new ticket?, time.monotonic() when submitted, the SLA policy of jobs to arm or None)
        self.spilled: deque[tuple[int, bool, float, str | None]] = deque()
        # The ids being read back (`_refill`): still waiting, and ahead of every job added meanwhile.
        self.reading: list[int] = []

    def __len__(self) -> int:
        return len(self.held) + len(self.spilled) + len(self.reading)

    def waiting(self) -> set[int]:
        """The message ids of every job waiting here: held whole, spilled, or being read back."""
        return {j.message_id for j in self.held} | {i for i, *_ in self.spilled} | set(self.reading)

    def add(self, job: Job) -> None:
        # Once one is spilled, the later ones follow it, so that the review keeps the order they came in; so do the
        # ones added while spilled ids are read back, which would otherwise be held ahead of them.
        if job.result is None and (self.spilled or self.reading or len(self.held) >= MAX_BACKLOG):
            # Of the planned SLA jobs only their policy is kept (a name shared by many): the rows are made again.
            policy = job.arm[0][3]["policy"] if isinstance(job.arm, list) else job.arm
            self.spilled.append((job.message_id, job.new_ticket, job.at, policy))
        else:
            self.held.append(job)

    async def take(self, n: int) -> list[Job]:
        """Up to `n` jobs, oldest first, read back from the database when only ids are left."""
        if not self.held and self.spilled:
            await self._refill()
        return [self.held.popleft() for _ in range(min(n, len(self.held)))]

    async def _refill(self) -> None:
        part = [self.spilled.popleft() for _ in range(min(REFILL, len(self.spilled)))]
        self.reading = [i for i, *_ in part]
        try:
            async with self.db.read() as conn:
                rows = {r.id: r for r in (await _SPILLED.run(conn, self.reading)).all()}
        except Exception:
            self.spilled.extendleft(reversed(part))  # as they were: the next take tries again
            raise
        finally:
            self.reading = []
        for message_id, new_ticket, at, policy in part:
            if (row := rows.get(message_id)) is not None:
                self.held.append(Job(message_id, row.ticket_id, inbound_of(row), new_ticket, None, at, policy))

    def clear(self) -> list[Job]:
        """Empty it (the hub is stopping: the marks stay, the next start reviews these); the jobs held whole."""
        held = list(self.held)
        self.held.clear()
        self.spilled.clear()
        return held
