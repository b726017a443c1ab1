"""Auto-assignment on a running hub: presence from the agent socket, least loaded with round robin, the account
manager first, capacity, queued tickets offered when a seat frees or an agent comes online, bot tickets only after
the handoff, and parallel ticket creation that never exceeds capacity nor assigns a ticket twice."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, update

from hub.clock import FrozenClock
from hub.config import Config
from hub.store.schema import agents, customers, tickets, trace
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.test_bot_flow import FAQ, HUMAN

# Monday 2027-03-01 10:00 in Bangkok.
MONDAY_10 = datetime(2027, 3, 1, 3, 0, tzinfo=timezone.utc)
QUESTION = "Hello, what are your opening hours?"


def auto_config(db_url: str, **over: Any) -> Config:
    over.setdefault("departments", [{"name": "support", "default": True, "auto_assign": True}, {"name": "billing"},
                                    {"name": "sales"}])
    return hub_config(db_url, scheduler_interval=3600, **over)


class Desk:
    """Agents on the agent socket (which sets their presence) and customers on the chat socket."""

    def __init__(self, h: RunningHub) -> None:
        self.h = h
        self.sockets: dict[str, Any] = {}
        self.ids: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}

    async def agent(self, name: str, departments: list[str] | None = None, capacity: int = 5, online: bool = True) -> int:
        email = f"{name}@example.com"
        self.headers[name] = await self.h.agent(email, departments=departments if departments is not None else ["support"])
        async with self.h.hub.db.write() as conn:
            aid = (await conn.execute(select(agents.c.id).where(agents.c.email == email))).scalar_one()
            await conn.execute(update(agents).where(agents.c.id == aid).values(capacity=capacity))
        self.ids[name] = aid
        if online:
            await self.online(name)
        return aid

    async def online(self, name: str) -> None:
        ws = await self.h.session.ws_connect(f"{self.h.url}/ws/agent?token={self.headers[name]['Authorization'][7:]}")
        assert (await ws.receive_json(timeout=5))["type"] == "hello"  # sent after presence is stored
        self.sockets[name] = ws
        await self.idle()

    async def offline(self, name: str) -> None:
        await self.sockets.pop(name).close()
        for _ in range(100):  # the server notices the close on its own schedule
            async with self.h.hub.db.read() as conn:
                p = (await conn.execute(select(agents.c.presence).where(agents.c.id == self.ids[name]))).scalar_one()
            if p == "offline":
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{name} still online")

    async def idle(self) -> None:
        await self.h.settle()
        await self.h.hub.assigner.idle()

    async def ticket(self, text: str = QUESTION, **hello: Any) -> tuple[int, Any]:
        chat = await self.h.chat(**hello)
        ack = await chat.say(text)
        await self.idle()
        return int(ack["ticket_id"]), chat

    async def state(self, tid: int) -> tuple[str, int | None]:
        async with self.h.hub.db.read() as conn:
            r = (await conn.execute(select(tickets.c.status, tickets.c.assignee_id).where(tickets.c.id == tid))).one()
        return r.status, r.assignee_id

    async def why(self, tid: int) -> list[str]:
        async with self.h.hub.db.read() as conn:
            rows = await conn.execute(select(trace.c.why).where((trace.c.ticket_id == tid) & (trace.c.what == "assigned")))
            return [r.why for r in rows]

    async def close(self) -> None:
        for ws in self.sockets.values():
            await ws.close()


async def test_least_loaded_online_agent_with_round_robin(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_10)
    async with running_hub(auto_config(sqlite_url), clock=clock) as h:
        d = Desk(h)
        a = await d.agent("a")
        await d.agent("away", online=False)
        await d.agent("biller", departments=["billing"])  # online, but not in support
        t1, _ = await d.ticket()
        assert await d.state(t1) == ("assigned", a)
        b = await d.agent("b")
        clock.advance(minutes=1)
        t2, _ = await d.ticket()
        assert await d.state(t2) == ("assigned", b)  # 0 open chats beats 1
        assert "least loaded (0/5)" in (await d.why(t2))[0]
        clock.advance(minutes=1)
        t3, _ = await d.ticket()
        assert await d.state(t3) == ("assigned", a)  # 1/5 each: the one assigned longest ago
        assert "round robin among 2" in (await d.why(t3))[0]
        clock.advance(minutes=1)
        t4, _ = await d.ticket()
        assert await d.state(t4) == ("assigned", b)
        status, got = await h.api("GET", f"/api/tickets/{t4}", d.headers["a"])
        assert any(x["what"] == "assigned" for x in got["trace"]) and got["assignee_id"] == b
        await d.close()


async def _managed_customer(d: Desk, manager: int, **hello: Any) -> Any:
    """A customer with a dedicated account manager, writing a second time (the first ticket is closed)."""
    tid, chat = await d.ticket(**hello)
    async with d.h.hub.db.write() as conn:
        cid = (await conn.execute(select(tickets.c.customer_id).where(tickets.c.id == tid))).scalar_one()
        await conn.execute(update(customers).where(customers.c.id == cid).values(account_manager_id=manager))
        await conn.execute(update(tickets).where(tickets.c.id == tid).values(status="closed", assignee_id=None))
    return chat


async def test_account_manager_first(sqlite_url: str) -> None:
    async with running_hub(auto_config(sqlite_url), clock=FrozenClock(MONDAY_10)) as h:
        d = Desk(h)
        manager = await d.agent("manager", departments=["support"])
        other = await d.agent("other")
        for _ in range(2):  # the manager is busier than the other agent
            await d.ticket()
        chat = await _managed_customer(d, manager)
        async with h.hub.db.read() as conn:
            busy = dict((await conn.execute(select(tickets.c.assignee_id, func.count()).where(tickets.c.status == "assigned")
                                            .group_by(tickets.c.assignee_id))).all())
        assert busy[manager] >= busy.get(other, 0)
        ack = await chat.say("I need help with my order again")
        await d.idle()
        assert await d.state(ack["ticket_id"]) == ("assigned", manager)
        assert "account manager" in (await d.why(ack["ticket_id"]))[0]
        # With the manager away, the department's least loaded agent takes it and the trace says why.
        await d.offline("manager")
        chat2 = await _managed_customer(d, manager)
        ack2 = await chat2.say("and one more question")
        await d.idle()
        assert await d.state(ack2["ticket_id"]) == ("assigned", other)
        assert (await d.why(ack2["ticket_id"]))[0].startswith(f"account manager {manager} offline")
        await d.close()


async def test_manager_of_a_department_without_auto_assign_gets_it_when_back(sqlite_url: str) -> None:
    config = auto_config(sqlite_url, departments=[{"name": "support", "default": True}, {"name": "billing"}, {"name": "sales"}])
    async with running_hub(config, clock=FrozenClock(MONDAY_10)) as h:
        d = Desk(h)
        manager = await d.agent("manager", departments=[], online=False)
        await d.agent("support-agent")
        chat = await _managed_customer(d, manager)
        ack = await chat.say("hello again")
        await d.idle()
        assert await d.state(ack["ticket_id"]) == ("queued", None)  # no auto-assign here: only the manager
        await d.online("manager")
        assert await d.state(ack["ticket_id"]) == ("assigned", manager)
        await d.close()


async def test_capacity_and_queued_tickets_offered_when_a_seat_frees(sqlite_url: str) -> None:
    clock = FrozenClock(MONDAY_10)
    async with running_hub(auto_config(sqlite_url), clock=clock) as h:
        d = Desk(h)
        a = await d.agent("a", capacity=1)
        t1, _ = await d.ticket()
        clock.advance(seconds=1)
        t2, _ = await d.ticket()
        clock.advance(seconds=1)
        t3, _ = await d.ticket()
        assert await d.state(t1) == ("assigned", a)
        assert await d.state(t2) == ("queued", None) and await d.state(t3) == ("queued", None)
        # Waiting on the customer still holds the seat.
        assert (await h.api("POST", f"/api/tickets/{t1}/pending", d.headers["a"]))[0] == 200
        await d.idle()
        assert await d.state(t2) == ("queued", None)
        # Resolving frees it: the oldest queued ticket comes next.
        assert (await h.api("POST", f"/api/tickets/{t1}/resolve", d.headers["a"]))[0] == 200
        await d.idle()
        assert await d.state(t2) == ("assigned", a) and await d.state(t3) == ("queued", None)
        # A second agent coming online takes the rest.
        b = await d.agent("b", capacity=1)
        assert await d.state(t3) == ("assigned", b)
        # An agent can still claim by hand; a ticket claimed is never auto-assigned again.
        clock.advance(seconds=1)
        t4, _ = await d.ticket()
        assert await d.state(t4) == ("queued", None)
        assert (await h.api("POST", f"/api/tickets/{t4}/claim", d.headers["b"]))[0] == 200
        await d.idle()
        assert await d.state(t4) == ("assigned", b) and await d.why(t4) == []
        await d.close()


async def test_transfer_to_an_auto_assign_department_assigns_there(sqlite_url: str) -> None:
    departments = [{"name": "support", "default": True}, {"name": "billing", "auto_assign": True}, {"name": "sales"}]
    async with running_hub(auto_config(sqlite_url, departments=departments), clock=FrozenClock(MONDAY_10)) as h:
        d = Desk(h)
        await d.agent("front", departments=["support"])
        biller = await d.agent("biller", departments=["billing"])
        tid, _ = await d.ticket()
        assert await d.state(tid) == ("queued", None)  # support does not auto-assign
        status, _ = await h.api("POST", f"/api/tickets/{tid}/transfer", d.headers["front"], json={"department": "billing"})
        assert status == 200
        await d.idle()
        assert await d.state(tid) == ("assigned", biller)
        await d.close()


async def test_bot_tickets_are_assigned_only_after_the_handoff(sqlite_url: str) -> None:
    config = auto_config(sqlite_url, bot={"enabled": True, "knowledge_base": FAQ})
    async with running_hub(config, clock=FrozenClock(MONDAY_10)) as h:
        d = Desk(h)
        a = await d.agent("a")
        chat = await h.chat(lang="en")
        ack = await chat.say("How many days until my parcel gets delivered?")
        assert (await chat.expect("message"))["author"] == "bot"
        await d.idle()
        assert await d.state(ack["ticket_id"]) == ("bot", None)
        await chat.say(HUMAN["en"])
        await chat.expect("message", author="system")
        await d.idle()
        assert await d.state(ack["ticket_id"]) == ("assigned", a)
        await d.close()


async def test_parallel_tickets_never_exceed_capacity_nor_assign_twice(db_url: str) -> None:
    async with running_hub(auto_config(db_url, rate_limits={"enabled": False})) as h:
        d = Desk(h)
        ids = [await d.agent(f"a{i}", capacity=2) for i in range(3)]

        async def customer(i: int) -> int:
            chat = await h.chat()
            ack = await chat.say(f"question number {i}")
            await chat.close()
            return int(ack["ticket_id"])

        tids = await asyncio.gather(*(customer(i) for i in range(24)))
        await d.idle()
        await _check(h, ids, capacity=2, expect_busy=6, total=len(tids))

        # Seats free on every agent at once while more customers arrive and offers race each other.
        async with h.hub.db.read() as conn:
            held = (await conn.execute(select(tickets.c.id, tickets.c.assignee_id).where(tickets.c.status == "assigned"))).all()
        by_agent = {aid: next(r.id for r in held if r.assignee_id == aid) for aid in ids}
        names = {v: k for k, v in d.ids.items()}
        resolves = [h.api("POST", f"/api/tickets/{tid}/resolve", d.headers[names[aid]]) for aid, tid in by_agent.items()]
        offers = [h.hub.assigner.run({"support"}) for _ in range(4)]
        results = await asyncio.gather(*resolves, *(customer(100 + i) for i in range(6)), *offers)
        assert all(r[0] == 200 for r in results[: len(resolves)])
        await d.idle()
        await _check(h, ids, capacity=2, expect_busy=6, total=len(tids) + 6)
        await d.close()


async def _check(h: RunningHub, agent_ids: list[int], *, capacity: int, expect_busy: int, total: int) -> None:
    async with h.hub.db.read() as conn:
        rows = (await conn.execute(select(tickets.c.id, tickets.c.status, tickets.c.assignee_id))).all()
        twice = (await conn.execute(
            select(trace.c.ticket_id).where(trace.c.what == "assigned").group_by(trace.c.ticket_id).having(func.count() > 1)
        )).all()
    assert len(rows) == total
    busy = [r for r in rows if r.status in ("assigned", "pending")]
    for aid in agent_ids:
        assert sum(1 for r in busy if r.assignee_id == aid) <= capacity
    assert len(busy) == expect_busy  # every free seat is used while tickets wait
    assert twice == []
    assert all(r.assignee_id is None for r in rows if r.status == "queued")
