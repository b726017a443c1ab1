"""A new ticket's SLA jobs are armed by the language review of its opening message, once, in the review's write
(hub.placement's `armed_by_review`, hub.escalation).  Whatever way the review goes, the jobs end the same as when
the open armed them itself (the reference: the same message on a hub whose open arms them): reviewed at once, raised
to a complaint, read back after the backlog spilled, taken up at the next start after a stop before the review,
or after a review that failed.  What an agent did meanwhile stands: a transfer's jobs, a first response given."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub import review_backlog
from hub.clock import FrozenClock
from hub.config import Config
from hub.escalation import Escalator
from hub.store.schema import jobs, trace
from tests.hubtest import RunningHub, running_hub
from tests.test_sla_flow import COMPLAINTS, QUESTION, SHIPPED, at, sla_config

OPENERS = {"question": QUESTION, "complaint": COMPLAINTS["en"], "vip": "Please send me the invoice for March."}
# No complaint word the open's keywords know; the review's model reads a complaint.
RAISED = COMPLAINTS["en"]
# A rule that names a policy of its own: the one case where the priority alone does not give the jobs' terms.
VIP = {"first_response": "20m", "resolution": "6h", "warn_at": 0.5}


def config(url: str, **over: Any) -> Config:
    rules = [{"name": "invoices", "when": {"keywords": {"*": ["invoice"]}}, "then": {"sla": "vip"}}]
    return sla_config(url, routing={**SHIPPED["routing"], "rules": rules}, sla={**SHIPPED["sla"], "vip": VIP}, **over)


async def sla_jobs(h: RunningHub) -> list[tuple[Any, ...]]:
    async with h.hub.db.read() as conn:
        rows = (await conn.execute(select(jobs.c.kind, jobs.c.key, jobs.c.due_at, jobs.c.payload, jobs.c.state)
                                   .where(jobs.c.key.like("sla:%")).order_by(jobs.c.key))).all()
    return [tuple(r) for r in rows]


async def say(h: RunningHub, text: str) -> int:
    chat = await h.chat(lang="en")
    ack = await chat.say(text)
    await chat.close()
    return int(ack["ticket_id"])


async def reference(url: str, text: str) -> list[tuple[Any, ...]]:
    """The jobs when the open arms them itself (as the hub did before the review took it over)."""
    async with running_hub(config(url), clock=FrozenClock(at(1, 10))) as h:
        h.hub.intake.placement.armed_by_review.clear()
        await say(h, text)
        await h.settle()
        return await sla_jobs(h)


class Held:
    """Holds every review until `go` is set (the hub's reviews wait; nothing else does)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.go = asyncio.Event()
        reviewing = Escalator._review_batch

        async def held(escalator: Escalator, batch: Any) -> Any:
            await self.go.wait()
            return await reviewing(escalator, batch)

        monkeypatch.setattr(Escalator, "_review_batch", held)


@pytest.mark.parametrize("what", ["question", "complaint", "vip"])
async def test_the_review_arms_what_the_open_would_have(tmp_path: Path, what: str, monkeypatch: pytest.MonkeyPatch) -> None:
    want = await reference(f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}", OPENERS[what])
    assert [k for _, k, *_ in want] == [f"sla:{t}:{s}:1" for t in ("first_response", "resolution") for s in ("breach", "warn")]
    held = Held(monkeypatch)
    async with running_hub(config(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"), clock=FrozenClock(at(1, 10))) as h:
        tid = await say(h, OPENERS[what])  # acknowledged: the ticket and its message are stored
        assert tid == 1 and await sla_jobs(h) == []  # the open left the jobs to the review
        held.go.set()
        await h.settle()
        assert await sla_jobs(h) == want


async def test_a_complaint_found_by_the_review_writes_its_jobs_once(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The open's jobs and the escalation's share one write; the escalation's deadlines win."""
    from hub import scheduler

    written: list[list[str]] = []
    for name in ("schedule_many", "schedule_new_many"):
        original = getattr(scheduler, name)

        async def counted(conn: Any, items: Any, original: Any = original) -> None:
            if items:
                written.append([k for _, k, _, _ in items])
            await original(conn, items)

        monkeypatch.setattr(scheduler, name, counted)
    cfg = config(sqlite_url)
    async with running_hub(cfg, clock=FrozenClock(at(1, 10))) as h:
        tid = await say(h, RAISED)
        await h.settle()
        got = await sla_jobs(h)
        async with h.hub.db.read() as conn:
            whys = (await conn.execute(select(trace.c.why).where(trace.c.ticket_id == tid))).scalars().all()
    assert any(w.startswith("raised to complaint by a customer message") for w in whys), whys
    keys = [k for batch in written for k in batch]
    assert sorted(keys) == sorted(set(keys)), written  # no key written twice
    due = {k: d for _, k, d, *_ in got}
    assert due[f"sla:first_response:breach:{tid}"] == at(1, 10, 15)  # the complaint SLA: 15 minutes


async def test_jobs_read_back_after_the_backlog_spilled_keep_the_rules_policy(db_url: str, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    want = await reference(f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}", OPENERS["vip"])
    monkeypatch.setattr(review_backlog, "MAX_BACKLOG", 0)  # every review waits as an id
    spilled: list[Any] = []
    refill = review_backlog.Backlog._refill

    async def read_back(backlog: review_backlog.Backlog) -> None:
        spilled.extend(backlog.spilled)
        await refill(backlog)

    monkeypatch.setattr(review_backlog.Backlog, "_refill", read_back)
    held = Held(monkeypatch)
    async with running_hub(config(db_url), clock=FrozenClock(at(1, 10))) as h:
        await say(h, OPENERS["vip"])
        held.go.set()
        await h.settle()
        assert await sla_jobs(h) == want
    assert [(new, policy) for _, new, _, policy in spilled] == [(True, "vip")]  # only the policy was kept


@pytest.mark.parametrize("what", ["question", "complaint"])
async def test_a_stop_before_the_review_arms_them_at_the_next_start(db_url: str, tmp_path: Path, what: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan held in memory is gone with the process; the message's review mark brings it back."""
    want = await reference(f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}", OPENERS[what])
    cfg = config(db_url)
    with monkeypatch.context() as m:
        Held(m)  # never released: the hub stops with the review waiting
        async with running_hub(cfg, clock=FrozenClock(at(1, 10))) as h:
            await say(h, OPENERS[what])
            assert await sla_jobs(h) == []
    async with running_hub(cfg, clock=FrozenClock(at(1, 10))) as h:  # the same moment: a complaint's SLA counts from the review
        await h.settle()
        assert await sla_jobs(h) == want


async def test_a_failed_review_still_arms_them(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    want = await reference(f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}", OPENERS["question"])

    async def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("the classifier failed")

    async with running_hub(config(sqlite_url), clock=FrozenClock(at(1, 10))) as h:
        monkeypatch.setattr(h.hub.escalator.pool, "route", broken)
        await say(h, OPENERS["question"])
        await h.settle()
        assert await sla_jobs(h) == want


async def test_a_transfer_and_a_reply_before_the_review_stand(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A transfer to other hours re-armed the jobs on them, and an agent's reply met the first response: the
    review's late jobs neither move the first nor bring back the second."""
    clock = FrozenClock(at(1, 17))
    departments = [*SHIPPED["departments"], {"name": "night", "business_hours": {
        "tz": "Asia/Bangkok", "weekly": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}]
    held = Held(monkeypatch)
    async with running_hub(config(sqlite_url, departments=departments), clock=clock) as h:
        agent = await h.agent("a@example.com", role="supervisor", departments=["support", "night"])
        tid = await say(h, QUESTION)
        clock.at = at(1, 17, 30)
        status, moved = await h.api("POST", f"/api/tickets/{tid}/transfer", agent, json={"department": "night"})
        assert status == 200, moved
        status, body = await h.api("POST", f"/api/tickets/{tid}/reply", agent, json={"text": "Hello!"})
        assert status in (200, 201), body
        transferred = {k: (d, s) for _, k, d, _, s in await sla_jobs(h)}
        held.go.set()
        await h.settle()
        after = {k: (d, s) for _, k, d, _, s in await sla_jobs(h)}
    assert after == transferred  # nothing the review wrote moved or added a job
    assert after[f"sla:resolution:breach:{tid}"][1] == "pending"
    assert all(s != "pending" for k, (_, s) in after.items() if k.startswith("sla:first_response"))


async def test_a_review_no_process_takes_up_is_swept_up(db_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that died with a review queued leaves only its mark, and the others run on without a start to take
    it up: the sweep does, once it has waited a whole interval, and the ticket gets its review and SLA jobs."""
    from hub import review_sweep
    from hub.store.schema import messages

    want = await reference(f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}", OPENERS["question"])
    lost: list[int] = []
    submit = Escalator._submit

    def dies_with_it(escalator: Escalator, accepted: Any, *args: Any) -> Any:
        if not lost:  # the first message's review was queued in a process that died
            lost.append(accepted.message_id)
            return None
        return submit(escalator, accepted, *args)

    monkeypatch.setattr(Escalator, "_submit", dies_with_it)
    clock = FrozenClock(at(1, 10))
    async with running_hub(config(db_url), clock=clock) as h:
        await say(h, OPENERS["question"])
        await h.settle()
        assert lost and await sla_jobs(h) == []
        clock.at = at(1, 10) + review_sweep.EVERY
        assert await h.hub.scheduler.tick() >= 1  # the first sweep notes what waits
        await h.settle()
        assert await sla_jobs(h) == []
        clock.at = at(1, 10) + 2 * review_sweep.EVERY
        assert await h.hub.scheduler.tick() >= 1  # still waiting a whole interval later: taken up
        await h.settle()
        assert await sla_jobs(h) == want
        async with h.hub.db.read() as conn:
            marked = (await conn.execute(select(messages.c.id).where(messages.c.review_pending.is_(True)))).all()
        assert marked == []
