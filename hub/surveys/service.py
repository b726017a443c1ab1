"""The surveys and follow-ups worker: one sweep plans surveys, sends those due, reopens nothing it must not, and
fires follow-ups.  Every step is idempotent on its rows, so every process may sweep at once."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update

from hub import periodic
from hub.store import tickets as ticket_store
from hub.store.schema import surveys
from hub.surveys.answers import Answer, Answers
from hub.surveys.complaints import Complaints
from hub.surveys.followups import Followups
from hub.surveys.links import Signer, load_secret, token_hash
from hub.surveys.optout import OptOut
from hub.surveys.plan import Planner

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.surveys")


class LinkError(Exception):
    """The link is forged, expired or already used."""


class Surveys:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.planner = Planner(hub)
        self.answers = Answers(hub)
        self.complaints = Complaints(hub)
        self.followups = Followups(hub)
        self.optout = OptOut(hub)
        # async fn(conn, survey: dict) run inside the transaction that stores an answer.
        self.on_answered = self.answers.on_answered
        self._signer: Signer | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def signer(self) -> Signer:
        if self._signer is None:
            self._signer = Signer(await load_secret(self.hub.db, self.hub.config.surveys.link_secret, self.hub.clock.now()))
        return self._signer

    # --- lifecycle ----------------------------------------------------------------------------------------------------

    @property
    def loaded_signer(self) -> Signer | None:
        return self._signer

    async def start(self) -> None:
        await self.signer()  # before any write transaction needs it (a first load writes the key)
        self._task = asyncio.create_task(self._loop(), name="surveys")

    async def stop(self) -> None:
        await periodic.cancel_and_wait(self._task, *self._tasks)
        self._task = None

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("survey task failed", exc_info=task.exception())

    async def drain(self) -> None:
        await periodic.drain(self._tasks)

    def _every(self) -> float:
        # Surveys and follow-ups are due to the minute, not the second: a sweep every few seconds is plenty, and
        # at least every scheduler tick so a test (or a small desk) that wants it sooner gets it.
        return max(self.hub.config.surveys.sweep_every.total_seconds(), self.hub.config.scheduler_interval, 1.0)

    async def _loop(self) -> None:
        await periodic.repeat(self.tick, self._every, "surveys sweep")

    async def tick(self) -> None:
        await self.planner.plan()
        await self.planner.send_due()
        await self.planner.expire()
        await self.complaints.reconsider()
        await self.followups.tick()

    # --- the link page ------------------------------------------------------------------------------------------------

    async def by_token(self, token: str) -> Any:
        sid = Signer.survey_id(token)
        if sid is None:
            raise LinkError("not a survey link")
        async with self.hub.db.read() as conn:
            s = (await conn.execute(select(surveys).where(surveys.c.id == sid))).first()
        now = self.hub.clock.now()
        if s is None or s.token_hash != token_hash(token) or s.expires_at is None:
            raise LinkError("unknown or used link")
        if not (await self.signer()).valid(token, s.expires_at):
            raise LinkError("bad signature")
        if not self.answers.open_to_answer(s, now):
            raise LinkError("expired")
        return s

    async def answer_link(self, token: str, answer: Answer) -> tuple[Any, str]:
        """Store a page answer and replace the token: returns the survey row and the new token (for changes)."""
        s = await self.by_token(token)
        now = self.hub.clock.now()
        fresh = (await self.signer()).issue(s.id, s.expires_at)
        async with self.hub.db.write() as conn:
            # Conditional on the old token: of two submissions of one link, exactly one is stored.
            res = await conn.execute(
                update(surveys).where(and_(surveys.c.id == s.id, surveys.c.token_hash == s.token_hash)).values(token_hash=fresh.hash)
            )
            if res.rowcount != 1:
                raise LinkError("used meanwhile")
            stored = await self.answers.record(conn, s, answer, now)
            row = (await conn.execute(select(surveys).where(surveys.c.id == s.id))).one()
        await self.hub.events.survey_answered(stored.survey, await self._ticket(s.ticket_id))
        self.spawn(self.complaints.consider(s.id))
        return row, fresh.value

    async def _ticket(self, ticket_id: int) -> Any:
        async with self.hub.db.read() as conn:
            return await ticket_store.get_ticket(conn, ticket_id)

