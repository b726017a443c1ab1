"""Reviews no process will take up: the messages a process stored and then died with, while others run on.

A message waiting for the language review keeps its `messages.review_pending` mark until reviewed, and a process
takes up the marks left behind at its start (hub.escalation).  With several processes, one that stops for good (a
node taken out, a process not restarted) leaves its marks to nobody: those messages would go unreviewed, and the
tickets they opened without their SLA jobs, which that review arms (hub.sla).

A recurring scheduler job (one process runs it at a time) sweeps them up.  Its payload keeps the highest message id
that was waiting at its last run: a message at or below it still marked has waited a whole interval, far longer than
any live process's review takes, so it is taken up here.  Ids, not times: a mail's stored time is when it was sent,
which may be days before it came in.  A message still queued by a live process that is only slow is reviewed twice at
worst, which changes nothing (a review's changes are conditional, its SLA jobs written only under free keys).
May import hub.escalation, hub.review_backlog, hub.scheduler and hub.store."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text

from hub import scheduler
from hub.review_backlog import UNREVIEWED
from hub.store.schema import messages

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.escalation")
KIND = KEY = "review.sweep"
EVERY = timedelta(minutes=5)
# The highest id of a marked message: the bare column, as the partial index ix_messages_review_pending is defined.
_NEWEST = select(func.max(messages.c.id)).where(text("messages.review_pending"))


class ReviewSweep:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def register(self, sched: scheduler.Scheduler) -> None:
        sched.handle(KIND)(self._job)

    async def start(self) -> None:
        async with self.hub.db.write() as conn:
            await scheduler.plan_recurring(conn, KIND, KEY, self.hub.clock.now() + EVERY, {"seen": 0})

    async def stop(self) -> None:
        return None

    async def _job(self, job: scheduler.Job) -> None:
        seen = int(job.payload.get("seen") or 0)
        async with self.hub.db.read() as conn:
            left = (await conn.execute(UNREVIEWED.where(messages.c.id <= seen))).all() if seen else []
            newest = (await conn.execute(_NEWEST)).scalar() or 0
        taken = self.hub.escalator.take_up(left)
        if taken:
            log.warning("reviewing %d messages left unreviewed for %s (a process stopped with them)", taken, EVERY)
        async with self.hub.db.write() as conn:
            await scheduler.schedule(conn, KIND, KEY, self.hub.clock.now() + EVERY, {"seen": newest})
