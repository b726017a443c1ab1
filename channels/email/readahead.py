"""The reads of a mailbox's backlog ahead of the batch being stored (channels.email.imap.Mailbox).

The next batches' FETCHes and the stored ones' acknowledgements go to the server while the hub stores: each is a
round trip, on a server across a network, that the hub no longer waits out.  Two ahead: the second is fetched while
one is stored and parsed beside the next.  A further batch is asked for only once those read ahead are in and small
(a callback of each read), so one batch of a size not yet known is in flight at most.  The connection takes the
commands one at a time, in the order asked (channels.email.imap.Connection.wire).

Imports the standard library only (the fetched mails' type for annotations).
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channels.email.imap import Fetched

    Batch = tuple[list[Fetched], asyncio.Future[Any]]  # the fetched mails, and their preparing (parsing) under way
    Read = Callable[[Sequence[int]], Awaitable[Batch]]

__all__ = ["READ_AHEAD", "READ_AHEAD_BYTES", "ReadAhead", "small"]

# A batch this big (its raw mails) is stored before the next is fetched: two batches of big mails in memory at once
# would double what the largest fetch already holds.  A further batch is read ahead only once every batch read ahead
# so far has turned out smaller than this, so at most one batch of a size not yet known is ever in flight.
READ_AHEAD_BYTES = 32 * 1024 * 1024
READ_AHEAD = 2  # batches fetched (and being parsed) ahead of the one being stored


def small(batch: Sequence[Fetched]) -> bool:
    return sum(len(f.raw) for f in batch) <= READ_AHEAD_BYTES


def _in_and_small(read: asyncio.Task[Batch]) -> bool:
    return read.done() and not read.cancelled() and read.exception() is None and small(read.result()[0])


class ReadAhead:
    """The reads of one search's batches (UID chunks), up to READ_AHEAD of them ahead of the batch being stored."""

    def __init__(self, read: Read, chunks: Sequence[Sequence[int]]) -> None:
        self.read, self.chunks = read, chunks
        self.reads: deque[asyncio.Task[Batch]] = deque()
        self.following = 0  # index of the next chunk to read
        self.allowed = True  # the batch being stored is small enough to read others beside it
        self.ending = False  # the session is leaving these batches: nothing more is read

    def next(self) -> asyncio.Task[Batch]:
        """The next batch's read: read ahead already, or started now."""
        if self.reads:
            return self.reads.popleft()
        self.following += 1
        return asyncio.ensure_future(self.read(self.chunks[self.following - 1]))

    def top_up(self, allowed: bool | None = None) -> None:
        """Read ahead as far as allowed; `allowed`: whether the batch now being stored is small (`small`)."""
        if allowed is not None:
            self.allowed = allowed
        while self.allowed and not self.ending and len(self.reads) < READ_AHEAD and \
                self.following < len(self.chunks) and all(_in_and_small(r) for r in self.reads):
            task = asyncio.ensure_future(self.read(self.chunks[self.following]))
            self.following += 1
            self.reads.append(task)
            task.add_done_callback(lambda _task: self.top_up())
