"""The review marks of messages reviewed: `messages.review_pending` set in the transaction that stores a message
(hub.intake) and cleared here once its review is done (hub.escalation).

A mark still set when the hub stops brings the message back to review at the next start, or to the review sweep
(hub.review_sweep).  Clearing waits: the marks that gathered are written in one statement, by a task of their own
(the next review batch does not wait for the database's write lock) and at most once every MARKS_EVERY.  A mark
left set a moment longer only means a second, idempotent review after a crash.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from sqlalchemy import update

from hub.store.db import CUSTOMERS, Database
from hub.store.prepared import PreparedIn
from hub.store.schema import messages

log = logging.getLogger("hub.escalation")

MARKS_PER_WRITE = 500  # message ids in one UPDATE ... IN (...): well inside every database's parameter limit
# At most one write for the marks this often: when each review batch is one new conversation, a write per batch
# (its own transaction and commit) cost as much as a tenth of the hub's work.
MARKS_EVERY = 0.05
_CLEAR = PreparedIn(lambda ids: update(messages).where(messages.c.id.in_(ids)).values(review_pending=None),
                    limit=MARKS_PER_WRITE)


class ReviewMarks:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: list[int] = []  # reviewed messages whose marks are still set
        self._task: asyncio.Task[None] | None = None
        self._at = -MARKS_EVERY  # time.monotonic() of the last write

    def add(self, message_ids: Iterable[int]) -> None:
        """These messages are reviewed: their marks go with the next write."""
        self._ids += message_ids
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.clear(), name="review-marks")

    @property
    def busy(self) -> bool:
        """Marks wait to be cleared, or their write is under way."""
        return bool(self._ids) or (self._task is not None and not self._task.done())

    async def clear(self, *, wait: bool = True) -> None:
        """Clear the marks gathered since the last write, no sooner than MARKS_EVERY after it (`wait=False`: at
        once, on the way out)."""
        if wait and (pause := self._at + MARKS_EVERY - time.monotonic()) > 0:
            await asyncio.sleep(pause)
        while self._ids:
            self._at = time.monotonic()
            ids, self._ids = self._ids[:MARKS_PER_WRITE], self._ids[MARKS_PER_WRITE:]
            try:
                async with self.db.write(CUSTOMERS) as conn:
                    await _CLEAR.run(conn, ids)
            except Exception:  # the marks stay set: the next start reviews these messages again
                log.exception("review marks of %d messages not cleared", len(ids) + len(self._ids))
                self._ids = []
                return

    async def stop(self) -> None:
        """Finish the write under way, then clear what is left at once: what was reviewed need not be reviewed
        again at the next start."""
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await self.clear(wait=False)
