"""The review of customer messages under light load and in a flood: at a few messages a second every message is
read with the sentence encoder however long that takes; in a flood a batch is embedded only if that ends within
REVIEW_DEADLINE, so the delay stays bounded."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, text

from hub import review_backlog
from hub.domain import Identity, Inbound
from hub.store.schema import messages, tickets
from tests.hubtest import hub_config, running_hub


def chat(pid: str, text: str = "where is my order?") -> Inbound:
    return Inbound(channel="webchat", provider_id=pid, sender=Identity("webchat", f"v-{pid}"), text=text,
                   received_at=datetime.now(timezone.utc))


async def test_light_load_gets_no_deadline_and_a_flood_does(sqlite_url: str) -> None:
    async with running_hub(hub_config(sqlite_url)) as h:
        escalator = h.hub.escalator
        seen: list[tuple[int, float | None]] = []
        route = escalator.pool.route

        async def recorded(reqs: Any, lexical: bool, deadline: float | None = None) -> Any:
            seen.append((len(reqs), deadline))
            return await route(reqs, lexical, deadline)

        escalator.pool.route = recorded  # type: ignore[method-assign]
        for i in range(3):  # a few messages a second
            await h.hub.intake.deliver(chat(f"calm-{i}"))
            await h.settle()
            await asyncio.sleep(0.15)
        assert seen and all(d is None for _, d in seen), seen
        seen.clear()
        # A flood: 60 messages at once (and more than LIGHT_LOAD a second).
        await asyncio.gather(*(h.hub.intake.deliver(chat(f"flood-{i}")) for i in range(60)))
        await h.settle()
        assert sum(n for n, _ in seen) == 60
        assert all(d is not None for _, d in seen), seen


async def test_a_backlog_past_its_bound_waits_as_ids_and_is_reviewed_in_order(db_url: str, monkeypatch: Any) -> None:
    """In a flood the review falls behind: past MAX_BACKLOG the waiting messages are kept as ids and read back from
    the database, so memory stays bounded; every message is still reviewed once, in the order it came, and the
    acknowledgements never wait for the review."""
    monkeypatch.setattr(review_backlog, "MAX_BACKLOG", 4)
    monkeypatch.setattr(review_backlog, "REFILL", 3)
    async with running_hub(hub_config(db_url)) as h:
        escalator = h.hub.escalator
        backlog, route = escalator._jobs, escalator.pool.route
        deepest, spilled, seen = [0], [0], []
        add = backlog.add

        def counted(job: Any) -> None:
            add(job)
            deepest[0] = max(deepest[0], len(backlog.held))
            spilled[0] = max(spilled[0], len(backlog.spilled))

        # The review falls behind, as in a flood: it is held until the intake has stored well past the bound.  (A
        # fixed delay let the review keep up, and nothing spill, on a machine slow enough to commit more slowly.)
        behind = asyncio.Event()

        async def slow(reqs: Any, lexical: bool, deadline: float | None = None) -> Any:
            await behind.wait()
            return await route(reqs, lexical, deadline)

        reviewed = escalator._review_batch

        async def recorded(batch: Any) -> Any:
            seen.extend(j.message_id for j in batch)
            return await reviewed(batch)

        backlog.add = counted  # type: ignore[method-assign]
        escalator.pool.route = slow  # type: ignore[method-assign]
        escalator._review_batch = recorded  # type: ignore[method-assign]
        stored = []
        for i in range(30):
            stored.append(await h.hub.intake.deliver(chat(f"queue-{i}", "my order never arrived")))
            if i == 11:
                behind.set()
        assert spilled[0] > 0 and deepest[0] <= 4  # without the bound: 29 held while the first batch was classified
        await h.settle()
        assert seen == [a.message_id for a in stored]  # each once, in order
        async with h.hub.db.read() as conn:
            pending = (await conn.execute(select(func.count()).select_from(messages).where(text("messages.review_pending")))).scalar()
            kinds = (await conn.execute(select(tickets.c.kind).where(tickets.c.id.in_({a.ticket_id for a in stored})))).scalars().all()
        assert pending == 0
        assert set(kinds) == {"complaint"}  # the messages read back were reviewed as the others were


async def test_reviews_someone_waits_for_are_held_whole_past_the_bound(monkeypatch: Any) -> None:
    monkeypatch.setattr(review_backlog, "MAX_BACKLOG", 2)
    backlog = review_backlog.Backlog(db=None)  # type: ignore[arg-type]  # nothing is read back here
    job = lambda i, fut=None: review_backlog.Job(i, i, chat(str(i)), False, fut, 0.0)  # noqa: E731
    for i in range(3):
        backlog.add(job(i))
    waited = asyncio.get_running_loop().create_future()
    backlog.add(job(3, waited))  # the bot waits for this one's outcome
    assert [j.message_id for j in backlog.held] == [0, 1, 3] and [i for i, *_ in backlog.spilled] == [2]
    assert [j.message_id for j in await backlog.take(10)] == [0, 1, 3]
    assert [j.result for j in backlog.clear()] == [] and len(backlog) == 0


async def test_jobs_added_while_ids_are_read_back_wait_behind_them(monkeypatch: Any) -> None:
    """Spilled ids being read back come before the jobs added during the read, and still count as waiting (a
    drain does not end meanwhile): the review keeps the order the messages came in."""
    import contextlib
    from types import SimpleNamespace

    monkeypatch.setattr(review_backlog, "MAX_BACKLOG", 1)
    reading, release = asyncio.Event(), asyncio.Event()

    class Db:
        @contextlib.asynccontextmanager
        async def read(self) -> Any:
            yield None

    async def read_back(conn: Any, ids: Any, params: Any = None) -> Any:
        reading.set()
        await release.wait()
        now = datetime.now(timezone.utc)
        rows = [SimpleNamespace(id=i, ticket_id=i, channel="webchat", provider_id=str(i), text="t", meta={},
                                created_at=now) for i in ids]
        return SimpleNamespace(all=lambda: rows)

    monkeypatch.setattr(review_backlog._SPILLED, "run", read_back)
    backlog = review_backlog.Backlog(db=Db())  # type: ignore[arg-type]
    job = lambda i: review_backlog.Job(i, i, chat(str(i)), False, None, 0.0)  # noqa: E731
    for i in range(3):
        backlog.add(job(i))  # 0 held whole, 1 and 2 as ids
    assert [j.message_id for j in await backlog.take(10)] == [0]
    taking = asyncio.ensure_future(backlog.take(10))
    await reading.wait()
    assert len(backlog) == 2 and backlog.waiting() == {1, 2}  # a start's or the sweep's take-up sees them
    backlog.add(job(3))
    release.set()
    assert [j.message_id for j in await taking] == [1, 2]
    assert [j.message_id for j in await backlog.take(10)] == [3] and len(backlog) == 0
