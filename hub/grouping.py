"""Group commit's policy: how many pending customer messages the next transaction takes, and how long it waits for
more to join (hub.intake stores them).

A commit writes every page the transaction touched, and a new conversation touches many (customer, identity,
ticket, message, trace and SLA job rows and their indexes), the tables' last pages among them, which the next
conversation's rows share; a new visitor's message otherwise arrives alone in its loop turn and pays for all of
them.  So when the last group was stored less than `database.group_wait_ms` ago and held more than one message
(the hub is under load), the next group waits out the rest of that time, so that more share its transaction; a
group that opens conversations waits HEAVY_WAIT times as long, as its size decides its cost far more than a
continuing message's (two rows).  An idle hub, whose last commit is older, stores at once, and so does one caller
handing over message after message and waiting for each (a Telegram chat's backlog is handled in order): its
groups hold one message, so nobody else's would join and waiting would only slow it down.  Messages that arrive in
one turn form a larger group by themselves, and that starts the waiting again.

Imports: hub.domain only.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hub.domain import Inbound

# Customer messages per group commit: large enough that the commit is a small share of each message, small enough
# that one group holds the event loop for only a few milliseconds.
GROUP = 64
# The same for messages that each open or look for a ticket the long way (a mailbox's fetch, new chat visitors):
# ~0.7 ms each, so 64 held the loop for ~45 ms; a group this size holds it ~10 ms, and between groups the loop reads
# the mailbox's next FETCH and the parser's answers, which the pipeline waits on, and serves agents.  A commit is
# ~0.2 ms.
BATCH_GROUP = 16
# How many times `database.group_wait_ms` a group holding new conversations may wait to gather: measured with 100
# visitors at a time opening conversations, 2x stored ~9 to a commit instead of ~5, and each conversation cost
# 0.91 ms of the hub's CPU instead of 1.07 (BENCHMARKS, "Fewer pages per new conversation").  Their senders wait a
# few milliseconds more for the ack; the messages of conversations under way keep the shorter wait.
HEAVY_WAIT = 2.0


class Gathering:
    """The waiting policy over a list of pending (inbound, future) pairs.  `continues(inbound)`: the message takes
    the fast path of a known chat sender (hub.known_senders); `wait_ms()`: the configured group_wait_ms."""

    def __init__(self, continues: Callable[[Inbound], bool], wait_ms: Callable[[], float]) -> None:
        self.continues, self.wait_ms = continues, wait_ms
        self.committed_at = float("-inf")  # loop time when the last group was stored
        # The last group held more than one message: others write while a group is stored, so waiting gathers.
        self.crowded = False

    def committed(self, size: int, at: float) -> None:
        self.committed_at, self.crowded = at, size > 1

    def counts(self, pending: Sequence[tuple[Inbound, Any]]) -> tuple[int, int]:
        """(messages the next group takes, how many of them open or look for a ticket the long way): up to GROUP,
        of which up to BATCH_GROUP the long way (~0.7 ms each against ~0.1 ms on the fast path), so that a flood of
        new visitors holds the loop ~10 ms at a time, as a mailbox's batch does, and agents' requests are served in
        between."""
        n = heavy = 0
        for inbound, _ in pending[:GROUP]:
            if not self.continues(inbound):
                if heavy == BATCH_GROUP:
                    break
                heavy += 1
            n += 1
        return n, heavy

    def wait(self, pending: Sequence[tuple[Inbound, Any]], now: float) -> float:
        """Seconds the next group would wait to gather at loop time `now` (0: store at once)."""
        if not self.crowded:
            return 0.0
        n, heavy = self.counts(pending)
        if n == GROUP or heavy == BATCH_GROUP:
            return 0.0
        wait_ms = self.wait_ms() * (HEAVY_WAIT if heavy else 1)
        return max(0.0, self.committed_at + wait_ms / 1000 - now)
