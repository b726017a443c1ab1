"""A survey comment whose complaint review the process never finished (it stopped between storing the comment and
the classifier's verdict) is reviewed after a restart: a complaining comment opens exactly one follow-up complaint,
however many restarts follow, and a kind one is marked reviewed with none."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.clock import FrozenClock
from hub.store.schema import surveys, tickets
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.test_surveys_chat import resolved_chat

START = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)

# (language, first message, a comment the classifier reads as a complaint, a comment it does not)
CASES = {
    "en": ("My order 4411 never arrived",
           "Terrible service, the courier was rude and I am very disappointed",
           "Thank you, the agent was quick and friendly"),
    "th": ("สินค้ายังไม่มาส่งเลย",
           "แย่มาก พนักงานพูดจาไม่สุภาพ ผิดหวังกับบริการมาก",
           "บริการดีมาก ขอบคุณค่ะ"),
    "fa": ("سفارش من هنوز نرسیده است",
           "خیلی بد بود، پیک بی‌ادب بود و از خدمات شما بسیار ناراضی هستم و شکایت دارم",
           "ممنون، پشتیبان سریع و مودب بود"),
}


def _config(db_url: str) -> Any:
    # scheduler_interval keeps the survey worker to its one sweep at start: the restart's, which this test is about.
    return hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}})


async def _answer_both(h: RunningHub, clock: FrozenClock, lang: str, first: str, comments: list[str]) -> list[int]:
    """Customers each answer a middle score (3, not low) and a comment; returns their survey ids.  One sweep sends
    every survey, and none runs after the comments: it would review them itself."""
    chats = [await resolved_chat(h, clock, first, lang=lang) for _ in comments]
    clock.advance(hours=2)
    await h.hub.surveys.tick()
    ids = []
    for (chat, _, tid), comment in zip(chats, comments):
        ask = await chat.expect("message", author="system")
        await chat.say("3", payload=ask["buttons"][2]["payload"])
        await chat.expect("message", author="system")
        await chat.say(comment)
        assert "Thank" in (await chat.expect("message", author="system"))["text"] or lang != "en"  # committed
        await chat.close()
        async with h.hub.db.read() as conn:
            ids.append(int((await conn.execute(select(surveys.c.id).where(surveys.c.ticket_id == tid))).scalar_one()))
    return ids


async def _state(h: RunningHub, sid: int) -> tuple[Any, int]:
    """(the survey row, how many follow-up tickets its ticket has)."""
    async with h.hub.db.read() as conn:
        s = (await conn.execute(select(surveys).where(surveys.c.id == sid))).one()
        n = (await conn.execute(select(func.count()).select_from(tickets).where(tickets.c.parent_id == s.ticket_id))).scalar_one()
    return s, n


async def _until_reviewed(h: RunningHub, sids: list[int]) -> None:
    for _ in range(400):
        rows = [(await _state(h, sid))[0] for sid in sids]
        if not any(r.comment_pending for r in rows):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the comments were not reviewed after the restart")


@pytest.mark.parametrize("lang", sorted(CASES))
async def test_a_comment_stored_before_a_crash_is_reviewed_after_the_restart(db_url: str, lang: str) -> None:
    first, bad, kind = CASES[lang]
    clock = FrozenClock(START)
    async with running_hub(_config(db_url), clock=clock) as h:
        await h.add_agent("sup@example.com", "supervisor", departments=["support"])
        await h.add_agent("agent@example.com", departments=["support"])
        dropped: list[Any] = []

        def crash(coro: Any) -> None:  # the process stops after the commit, before the classifier's verdict
            dropped.append(coro)
            coro.close()

        h.hub.surveys.spawn = crash  # type: ignore[method-assign]
        bad_id, kind_id = await _answer_both(h, clock, lang, first, [bad, kind])
        await h.settle()
        assert len(dropped) >= 2  # the reviews were due and never ran
        for sid in (bad_id, kind_id):
            s, n = await _state(h, sid)
            assert (s.score, s.comment_pending, s.complaint_ticket_id, n) == (3, True, None, 0)

    clock.advance(minutes=5)
    async with running_hub(_config(db_url), clock=clock) as h:  # the restart's sweep reviews both
        await _until_reviewed(h, [bad_id, kind_id])
        s, n = await _state(h, bad_id)
        assert s.complaint_ticket_id is not None and n == 1
        async with h.hub.db.read() as conn:
            c = (await conn.execute(select(tickets).where(tickets.c.id == s.complaint_ticket_id))).one()
        assert (c.kind, c.parent_id, c.language) == ("complaint", s.ticket_id, lang)
        s2, n2 = await _state(h, kind_id)
        assert (s2.complaint_ticket_id, n2, s2.comment_pending) == (None, 0, None)

    clock.advance(minutes=5)
    async with running_hub(_config(db_url), clock=clock) as h:  # a second restart, and a sweep by hand: nothing new
        await h.hub.surveys.tick()
        await h.hub.surveys.drain()
        assert (await _state(h, bad_id))[1] == 1
        assert (await _state(h, kind_id))[1] == 0


async def test_a_new_comment_while_the_old_one_is_judged_stays_pending(sqlite_url: str) -> None:
    """The verdict on one comment does not mark a newer comment, stored meanwhile, as reviewed."""
    clock = FrozenClock(START)
    async with running_hub(_config(sqlite_url), clock=clock) as h:
        await h.add_agent("agent@example.com", departments=["support"])
        h.hub.surveys.spawn = lambda coro: coro.close()  # type: ignore[method-assign]
        first, _, kind = CASES["en"]
        [sid] = await _answer_both(h, clock, "en", first, [kind])
        async with h.hub.db.read() as conn:
            old = (await conn.execute(select(surveys).where(surveys.c.id == sid))).one()
        async with h.hub.db.write() as conn:  # a newer comment arrives (the link page may replace one)
            await conn.execute(surveys.update().where(surveys.c.id == sid).values(comment="changed my mind", comment_pending=True))
        await h.hub.surveys.complaints._reviewed(old)
        assert (await _state(h, sid))[0].comment_pending is True
