"""A small week of tickets, survey answers, callbacks and bot misses whose report figures are worked out by hand
(see tests/test_reports.py).  Business hours Mon-Fri 09:00-17:00 UTC; the week is Mon 2 - Sun 8 March 2026 and
"now" is Mon 9 March 12:00 UTC."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert

from hub.store.schema import callbacks, customers, labels, messages, surveys, tickets, trace

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=timezone.utc)
HOURS = {"tz": "UTC", "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}, "holidays": []}


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=timezone.utc)


async def load(db: Any, agent_a: int, agent_b: int) -> dict[str, int]:
    async with db.write() as conn:
        cid = (await conn.execute(insert(customers).values(name="Fixture", tier="standard", tags=[], created_at=at(1, 8))
                                  .returning(customers.c.id))).scalar_one()

        async def ticket(name: str, created: datetime, *, first: datetime | None, resolved: datetime | None,
                         dept: str, channel: str, assignee: int | None, kind: str, first_due: datetime,
                         res_due: datetime, breached: list[str] | None = None, bot_state: dict[str, Any] | None = None,
                         tags: list[str] | None = None) -> int:
            return (await conn.execute(insert(tickets).values(
                customer_id=cid, status="resolved" if resolved else "assigned", priority="normal", department=dept,
                kind=kind, channel=channel, language="en", assignee_id=assignee, subject=name, tags=tags or [],
                created_at=created, updated_at=created, first_response_due=first_due, resolution_due=res_due,
                first_response_at=first, resolved_at=resolved, breached=breached or [], bot_misses=0,
                bot_state=bot_state or {},
            ).returning(tickets.c.id))).scalar_one()

        ids = {
            "t1": await ticket("t1", at(2, 9), first=at(2, 9, 30), resolved=at(2, 11), dept="support", channel="webchat",
                               assignee=agent_a, kind="question", first_due=at(2, 10), res_due=at(3, 9)),
            "t2": await ticket("t2", at(2, 16, 30), first=at(3, 9, 30), resolved=at(3, 12), dept="support", channel="email",
                               assignee=agent_a, kind="complaint", first_due=at(2, 17), res_due=at(4, 16, 30),
                               breached=["first_response"], tags=["complaint", "delivery"]),
            "t3": await ticket("t3", at(3, 10), first=at(3, 10, 10), resolved=None, dept="billing", channel="telegram",
                               assignee=agent_b, kind="complaint", first_due=at(3, 11), res_due=at(4, 10),
                               breached=["resolution"], bot_state={"lang": "en", "last_entry": "refunds"}),
            "t4": await ticket("t4", at(7, 10), first=at(9, 9, 15), resolved=None, dept="billing", channel="webchat",
                               assignee=None, kind="question", first_due=at(9, 10), res_due=at(10, 17)),
            "t5": await ticket("t5", at(4, 9), first=None, resolved=None, dept="support", channel="webchat",
                               assignee=agent_b, kind="question", first_due=at(4, 10), res_due=at(12, 9),
                               bot_state={"lang": "en"}),
            "t6": await ticket("t6", at(5, 9), first=at(5, 9, 1), resolved=at(5, 9, 5), dept="support", channel="webchat",
                               assignee=None, kind="question", first_due=at(5, 10), res_due=at(6, 9),
                               bot_state={"lang": "en", "last_entry": "hours"}),
            # Outside the week: never counted.
            "before": await ticket("before", at(1, 23, 59), first=at(2, 9), resolved=at(2, 9, 1), dept="support",
                                   channel="webchat", assignee=agent_a, kind="complaint", first_due=at(2, 10), res_due=at(3, 9)),
            "after": await ticket("after", at(9, 0, 0), first=None, resolved=None, dept="support", channel="webchat",
                                  assignee=agent_a, kind="complaint", first_due=at(9, 10), res_due=at(10, 9)),
        }
        for tid, who, text, meta, when in (
            (ids["t5"], "customer", "How do I reset my password?", {}, at(4, 9)),
            (ids["t5"], "bot", "Sorry, could you say it differently?", {"bot": {"reason": "no confident answer (low score); miss 1 of 2"}}, at(4, 9, 1)),
            (ids["t5"], "customer", "HOW do I reset my password", {}, at(4, 9, 2)),
            (ids["t5"], "system", "An agent will answer.", {"bot": {"reason": "bot missed 2 times in a row (low score)"}}, at(4, 9, 3)),
            (ids["t6"], "customer", "When are you open?", {}, at(5, 9)),
            (ids["t6"], "bot", "Mon-Fri 9-17.", {"bot": {"reason": "answered from hours"}}, at(5, 9, 1)),
        ):
            await conn.execute(insert(messages).values(
                ticket_id=tid, direction="in" if who == "customer" else "out", author=who, text=text, channel="webchat",
                created_at=when, attachments=[], automatic=who != "customer", edits=[], meta=meta))
        await conn.execute(insert(trace).values(ticket_id=ids["t5"], at=at(4, 9, 3), what="handoff",
                                                why="bot missed 2 times in a row (low score)"))
        for text in ("Where is my refund?", "=1+1 refund"):
            await conn.execute(insert(labels).values(ticket_id=ids["t3"], text=text, language="en", entry="refunds",
                                                     source="not_helpful", created_at=at(3, 10, 5)))

        async def survey(tid: int, score: int, nps: int | None, answered: datetime, dept: str, agent: int | None, channel: str) -> None:
            await conn.execute(insert(surveys).values(
                ticket_id=tid, customer_id=cid, resolved_at=answered, channel=channel, department=dept, agent_id=agent,
                language="en", state="answered", score=score, nps=nps, answers=1, due_at=answered, sent_at=answered,
                answered_at=answered, created_at=answered, updated_at=answered))

        await survey(ids["t1"], 5, 10, at(2, 12), "support", agent_a, "webchat")
        await survey(ids["t2"], 2, 3, at(3, 13), "support", agent_a, "email")
        await survey(ids["t6"], 4, 8, at(5, 10), "support", None, "webchat")
        await survey(ids["before"], 1, 0, at(9, 1), "support", agent_a, "webchat")  # answered after the week

        async def callback(tid: int, slot: datetime, status: str, outcome: str | None, agent: int | None) -> None:
            await conn.execute(insert(callbacks).values(
                ticket_id=tid, customer_id=cid, phone="+66812345678", window_start=slot, window_end=slot, tz="UTC",
                status=status, attempts=1 if outcome else 0, outcome=outcome, assignee_id=agent, slot_start=slot,
                created_at=at(1, 8), updated_at=at(1, 8)))

        await callback(ids["t1"], at(3, 10), "done", "reached", agent_a)
        await callback(ids["t1"], at(4, 10), "scheduled", "no_answer", None)
        await callback(ids["t2"], at(4, 11), "unreachable", "no_answer", agent_a)
        await callback(ids["t2"], at(5, 10), "cancelled", None, None)
        await callback(ids["t3"], at(6, 10), "scheduled", None, None)
    return ids
