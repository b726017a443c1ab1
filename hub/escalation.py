"""Classification through the whole conversation: every customer message can raise its ticket to a complaint.

Intake routes a new ticket on keywords alone inside its transaction (fast, so the acknowledgement never waits on a
model).  After the commit, `Escalator.review` classifies each customer message with the learned model (nlp.models,
through the router) and, when it is a complaint on a ticket that is not one yet, escalates the ticket:

- kind `complaint`, priority raised to the complaint priority (never lowered), the complaint tags;
- the department the rules give a complaint, while nobody owns the ticket yet;
- first-response and resolution deadlines brought forward to the complaint SLA (never pushed back), SLA jobs
  re-armed;
- the reason in the ticket's trace, `ticket.updated` to agents and a `ticket.escalated` notice naming the
  department's supervisors.

A ticket's kind is never lowered by a later message: a complaint stays a complaint.  The first message of a new
ticket may also move it between the calmer kinds (a question that the model reads as a sales lead).

Reviews run in batches by one task: `submit` only queues the stored message (no task per message; the queue is
bounded in memory and keeps what is past its bound as ids, hub.review_backlog), one read
loads the tickets of the whole batch, the batch is classified in one call, and one write clears the batch's
`messages.review_pending` marks.  The mark is set in the transaction that stores the message, so a message not yet
reviewed when the hub stops is reviewed when it starts again (`start`).  A review is idempotent (an escalation is
conditional on the kind), so reviewing a message twice after a crash changes nothing.

Messages are classified one batch at a time in a worker thread, or with `review.worker: process` in a process of
its own (hub.classifier_pool), so the event loop never runs the model.  A batch is classified without the sentence
encoder (the lexical variant, well under a millisecond a message) when its embedding would not end within
`REVIEW_DEADLINE` of the oldest message's storing while more than `LIGHT_LOAD` messages a second come in (below
that every message gets the encoder, however long it takes), when a backlog builds up (more than `LEXICAL_BACKLOG` waiting),
or when the encoder has used its share of the CPU (nlp.encoder.Budget, shared with the FAQ bot): the delay stays
bounded under load at a small cost in accuracy.  The later messages of a ticket that is already a complaint are not
classified at all unless the bot still reads them.  The decisions' writes live in hub.review_changes, the
marks' in hub.review_marks.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from hub import review_changes, scheduler
from hub.classifier_pool import ClassifierPool
from hub.domain import Accepted, Inbound, Status, Ticket
from hub.metrics import CLASSIFY
from hub.ports import RouteRequest, RouteResult
from hub.review_backlog import UNREVIEWED, Backlog, Job, inbound_of
from hub.review_marks import ReviewMarks
from hub.sla import JobRow
from hub.store.prepared import PreparedIn
from hub.store.schema import customers, tickets
from hub.periodic import cancel_and_wait
from nlp.encoder import Budget

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.escalation")

__all__ = ["Escalator", "Review"]

LEXICAL_BACKLOG = 16
BATCH = 32
REVIEW_BATCH = 64  # messages reviewed together: one ticket read, one classifier call, one write for the marks
# What a review reads of each message's ticket and customer: the columns its decisions and conditional writes use
# (hub.review_changes), not the whole row.  Every message is reviewed, and the columns left out (the bot's state,
# the breaches, seven timestamps) cost more to decode than the read itself.
_REVIEW_OF = (
    select(tickets.c.id, tickets.c.status, tickets.c.priority, tickets.c.department, tickets.c.kind,
           tickets.c.channel, tickets.c.language, tickets.c.assignee_id, tickets.c.subject, tickets.c.tags,
           tickets.c.first_response_due, tickets.c.resolution_due, tickets.c.first_response_at,
           customers.c.tier, customers.c.tags.label("customer_tags"), customers.c.account_manager_id)
    .join(customers, customers.c.id == tickets.c.customer_id)
)


# Prepared per size of the batch's id list (hub.store.prepared.PreparedIn).
_REVIEW_READ = PreparedIn(lambda ids: _REVIEW_OF.where(tickets.c.id.in_(ids)), limit=REVIEW_BATCH)
# When the tickets opened whose SLA jobs are made again from their rows (Job.arm): only for a review read back
# from the store or taken up at a start.
_OPENED_AT = PreparedIn(lambda ids: select(tickets.c.id, tickets.c.created_at).where(tickets.c.id.in_(ids)),
                        limit=REVIEW_BATCH)
# A message is classified within this long of being stored: a batch whose embedding would end later is classified
# without the sentence encoder (the lexical variant takes well under a millisecond a message).
REVIEW_DEADLINE = 0.025
# Below this many messages a second (over the last half second) there is no crowd to keep waiting: every message is embedded,
# however long that takes (tens of milliseconds; nothing waits for routing then), so complaints are read as well as
# the models can.  The deadline above applies only past it, where it keeps the delay bounded under load.
LIGHT_LOAD = 20.0
# And only for a batch this small whose newest message came at least LIGHT_GAP after the one before (messages of
# different customers rarely come that close at light load; a flood's first ones do, before the count has caught up
# with them, and embedding them would keep the messages behind them waiting).
LIGHT_BATCH = 2
LIGHT_GAP = 0.01
# Classified once right after start-up, off the loop: loading the models, the Thai dictionary and the encoder,
# and timing the encoder, would otherwise fall on the first customers' messages.
WARM_UP = (("th", "สินค้ายังไม่มาส่งเลยค่ะ"), ("fa", "سفارشم هنوز نرسیده"), ("en", "my order has not arrived yet"))

SKIP_FLAGS = frozenset({"bounce", "auto_reply", "spam_report", "button"})
CLOSED = (Status.RESOLVED.value, Status.CLOSED.value)


@dataclass(frozen=True, slots=True)
class Review:
    kind: str  # the ticket's kind after the review
    escalated: bool
    probability: float | None
    message_complaint: bool  # this message itself reads as a complaint


class Escalator:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._queue: asyncio.Queue[tuple[RouteRequest, asyncio.Future[RouteResult]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.pool = ClassifierPool(hub.config, hub.router)  # in a thread, or a process of its own (review.worker)
        self._jobs = Backlog(hub.db)  # taken a batch at a time, oldest first, however long the backlog
        self._wake: asyncio.Event | None = None
        self._reviewer: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None
        self._busy = False
        self.marks = ReviewMarks(hub.db)  # cleared once reviewed, a write at a time
        # Messages submitted per second, a count decayed over half a second (a sudden flood is seen within a few
        # messages): "over budget" means more than LIGHT_LOAD a second.
        self._arrivals = Budget(LIGHT_LOAD, window=0.5)
        # Seconds between the last two messages: the first messages of a sudden flood come closer than LIGHT_GAP,
        # before the count above has caught up with them.
        self._gap, self._last_at = 0.0, -1.0

    @staticmethod
    def wants(inbound: Inbound) -> bool:
        """Whether a stored customer message gets the review (intake marks it pending when it does)."""
        return bool(inbound.text.strip()) and not inbound.flags & SKIP_FLAGS

    # --- classifying in batches off the loop ----------------------------------------------------------------------

    async def classify(self, req: RouteRequest) -> RouteResult:
        started = time.monotonic()
        res = await self._classify(req)
        CLASSIFY.labels(res.detector or "none").observe(time.monotonic() - started)
        return res

    async def _classify(self, req: RouteRequest) -> RouteResult:
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="classify")
        fut: asyncio.Future[RouteResult] = asyncio.get_running_loop().create_future()
        await self._queue.put((req, fut))
        return await fut

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            lexical = self._queue.qsize() + len(batch) > LEXICAL_BACKLOG
            try:
                results = await self.pool.route([r for r, _ in batch], lexical)
            except Exception as exc:  # a failing model must not leave callers waiting
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), res in zip(batch, results):
                if not fut.done():
                    fut.set_result(res)

    async def start(self) -> None:
        """Review what an earlier run stored but did not review (it stopped or crashed first)."""
        try:
            async with self.hub.db.read() as conn:
                rows = (await conn.execute(UNREVIEWED)).all()
        except OperationalError as exc:
            log.warning("unreviewed messages could not be read (%s); they wait for the next start", exc)
            return
        if self.take_up(rows):
            log.info("reviewing %d messages stored before the last stop", len(rows))
        self._warming = asyncio.create_task(self._warm(), name="review-warm-up")

    def take_up(self, rows: Sequence[Any]) -> int:
        """Queue stored messages whose review marks are still set (`UNREVIEWED`'s rows), less those queued here
        already; returns how many were queued."""
        held = self._jobs.waiting()
        taken = 0
        for r in rows:
            if r.id in held:
                continue
            # It may have opened its ticket, whose SLA jobs were this review's to arm: they are made again from the
            # ticket row, and written only under keys no job holds (a ticket armed already keeps its own).
            self._submit(Accepted(r.id, r.ticket_id, None), inbound_of(r), False, False, "")
            taken += 1
        return taken

    async def _warm(self) -> None:
        now = self.hub.clock.now()
        reqs = [RouteRequest(text=text, channel="webchat", now=now, language_hint=lang) for lang, text in WARM_UP]
        try:
            await self.pool.route(reqs, False)
        except Exception:  # the first real batch tries again
            log.exception("warming the classifier failed")

    async def stop(self) -> None:
        # Queued reviews keep their marks in the database: the next start takes them up.
        for attr in ("_worker", "_reviewer", "_warming"):
            task = getattr(self, attr)
            setattr(self, attr, None)
            await cancel_and_wait(task)
        await self.marks.stop()
        self.pool.close()
        for job in self._jobs.clear():
            if job.result is not None and not job.result.done():
                job.result.set_result(None)

    async def drain(self) -> None:
        """Wait until every review submitted so far is done (tests, shutdown)."""
        while self._jobs or self._busy or self.marks.busy:
            await asyncio.sleep(0.005)

    # --- the review -----------------------------------------------------------------------------------------------

    def submit(self, accepted: Accepted, inbound: Inbound, new_ticket: bool, *, want_result: bool = False,
               opened: tuple[Ticket, RouteResult] | None = None) -> asyncio.Future[Review | None] | None:
        """Queue one committed customer message for review; returns at once.  With `want_result`, a future of the
        review's outcome (None when the message is not reviewed).  `opened`: the ticket this message opened and
        its route, whose SLA jobs the review arms (hub.placement's `armed_by_review`)."""
        arm = (self.hub.sla.jobs_for(*opened)[0] or None) if opened is not None else None
        return self._submit(accepted, inbound, new_ticket, want_result, arm)

    def _submit(self, accepted: Accepted, inbound: Inbound, new_ticket: bool, want_result: bool,
                arm: list[JobRow] | str | None) -> asyncio.Future[Review | None] | None:
        if accepted.duplicate or accepted.ticket_id is None or not self.wants(inbound):
            return None
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Review | None] | None = loop.create_future() if want_result else None
        self._jobs.add(Job(accepted.message_id, accepted.ticket_id, inbound, new_ticket, fut, time.monotonic(), arm))
        self._arrivals.spend(1.0)
        now = time.monotonic()
        self._gap, self._last_at = now - self._last_at, now
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._reviewer is None or self._reviewer.done():
            self._reviewer = asyncio.create_task(self._review_loop(), name="review")
        self._wake.set()
        return fut

    async def review(self, accepted: Accepted, inbound: Inbound, new_ticket: bool) -> Review | None:
        """Classify one stored customer message and escalate its ticket when it is a complaint."""
        fut = self.submit(accepted, inbound, new_ticket, want_result=True)
        return None if fut is None else await fut

    async def _review_loop(self) -> None:
        assert self._wake is not None
        while True:
            if not self._jobs:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                batch = await self._jobs.take(REVIEW_BATCH)
            except Exception:  # reading spilled messages back failed: they stay marked, and are tried again
                log.exception("messages waiting for review could not be read back")
                await asyncio.sleep(1.0)
                continue
            if not batch:  # ids whose messages were reviewed meanwhile (by another process)
                continue
            self._busy = True
            try:
                results = await self._review_batch(batch)
            except Exception:  # the messages stay marked: reviewed at the next start
                log.exception("review of %d messages failed", len(batch))
                results = [None] * len(batch)
                await self._arm_alone(batch)
            finally:
                self._busy = False
            for job, res in zip(batch, results):
                if job.result is not None and not job.result.done():
                    job.result.set_result(res)

    async def _review_batch(self, batch: list[Job]) -> list[Review | None]:
        ids = list(dict.fromkeys(j.ticket_id for j in batch))
        async with self.hub.db.read() as conn:
            found = (await _REVIEW_READ.run(conn, ids)).all()
            remake = [j.ticket_id for j in batch if isinstance(j.arm, str)]
            opened_at = {r.id: r.created_at for r in (await _OPENED_AT.run(conn, remake)).all()} if remake else {}
        rows = {r.id: r for r in found}
        now = self.hub.clock.now()
        armed = self._opened_jobs(batch, rows, opened_at)
        todo: list[tuple[int, Any, RouteRequest]] = []
        for i, j in enumerate(batch):
            row = rows.get(j.ticket_id)
            if row is None or row.status in CLOSED:
                continue
            todo.append((i, row, RouteRequest(
                text=j.inbound.text, channel=row.channel, now=now, language_hint=row.language or j.inbound.sender_lang,
                subject=j.inbound.subject if j.new_ticket else None, tier=row.tier, tags=tuple(row.customer_tags or ()),
                account_manager_id=row.account_manager_id, deadlines=False,
            )))
        out: list[Review | None] = [None] * len(batch)
        # A complaint stays a complaint: its later messages are classified only for the bot, which reads them while
        # the ticket is still with it.  The others need no model at all (a long complaint thread costs nothing).
        needed: list[tuple[int, Any, RouteRequest]] = []
        changes: list[review_changes.Change] = []  # written together after the batch is decided
        for i, row, req in todo:
            if row.kind != "complaint" or (batch[i].result is not None and row.status == Status.BOT.value):
                needed.append((i, row, req))
                continue
            if row.subject is None:
                changes.append(partial(review_changes.name, self.hub, row=row, inbound=batch[i].inbound, now=now))
            out[i] = Review("complaint", False, None, False)
        todo = needed
        if todo:
            oldest = min(batch[i].at for i, _, _ in todo)
            light = len(todo) <= LIGHT_BATCH and self._gap >= LIGHT_GAP and not self._arrivals.exhausted()
            deadline = None if light else oldest + REVIEW_DEADLINE
            routes = await self._classify_batch([req for _, _, req in todo], deadline)
            done = time.monotonic()
            raised: set[int] = set()  # tickets this batch made complaints: later messages find them so
            for (i, row, _), route in zip(todo, routes):
                CLASSIFY.labels(route.detector or "none").observe(done - batch[i].at)
                if row.id in raised:
                    p = route.complaint_probability
                    out[i] = Review("complaint", False, p, route.kind == "complaint")
                    continue
                out[i] = self._decide(row, route, batch[i], now, changes)
                if out[i].escalated:
                    raised.add(row.id)
        # One transaction for the batch's changes: under load a batch raises several tickets, and each write of
        # its own was a turn at the database's write lock and a commit.
        await review_changes.apply(self.hub, changes, now, armed)
        # Reviewed (or nothing left to review): the marks go, written by another task so that the next batch is
        # not kept waiting for the database's write lock.  Until then a crash only means a second, idempotent review.
        self.marks.add(j.message_id for j in batch)
        return out

    def _opened_jobs(self, batch: list[Job], rows: dict[int, Any], opened_at: dict[int, datetime]) -> list[JobRow]:
        """The SLA jobs of the tickets the batch's messages opened (`Job.arm`), less a first response already
        given: planned at the open, or made again from the ticket row."""
        out: list[JobRow] = []
        for j in batch:
            if j.arm is None or (row := rows.get(j.ticket_id)) is None:
                continue
            if isinstance(j.arm, str):
                if (at := opened_at.get(j.ticket_id)) is None:
                    continue
                arm = self.hub.sla.rebuilt(row, at, j.arm)
            else:
                arm = j.arm
            out += arm if row.first_response_at is None else [r for r in arm if r[3]["target"] != "first_response"]
        return out

    async def _arm_alone(self, batch: list[Job]) -> None:
        """A batch whose review failed still arms the SLA jobs planned at its tickets' opens (the review, taken up
        again at the next start from the marks, would make them again; until then the deadlines would go unwatched)."""
        arm = [r for j in batch if isinstance(j.arm, list) for r in j.arm]
        if not arm:
            return
        try:
            async with self.hub.db.write() as conn:
                await scheduler.schedule_new_many(conn, arm)
        except Exception:  # the marks stay set: the next start makes them again
            log.exception("SLA jobs of %d new tickets not armed", len({r[3]["ticket_id"] for r in arm}))

    async def _classify_batch(self, reqs: list[RouteRequest], deadline: float | None) -> list[RouteResult]:
        out: list[RouteResult] = []
        if len(reqs) + len(self._jobs) > LEXICAL_BACKLOG:  # a backlog: all in one call, no encoder to batch for
            return await self.pool.route(reqs, True, deadline)
        for start in range(0, len(reqs), BATCH):  # the encoder's batch size
            out += await self.pool.route(reqs[start:start + BATCH], len(reqs) + len(self._jobs) > LEXICAL_BACKLOG,
                                         deadline)
        return out

    def _decide(self, row: Any, route: RouteResult, job: Job, now: datetime,
                changes: list[review_changes.Change]) -> Review:
        if row.subject is None:
            changes.append(partial(review_changes.name, self.hub, row=row, inbound=job.inbound, now=now))
        p, said = route.complaint_probability, route.kind == "complaint"
        if row.kind == "complaint":
            return Review("complaint", False, p, said)  # never lowered, and nothing higher to raise it to
        if said:
            changes.append(partial(review_changes.escalate, self.hub, row=row, route=route, now=now))
            return Review("complaint", True, p, True)
        if job.new_ticket and route.kind != row.kind and row.kind == "question":
            changes.append(partial(review_changes.rekind, self.hub, row=row, route=route, now=now))
            return Review(route.kind, False, p, False)
        return Review(row.kind, False, p, False)
