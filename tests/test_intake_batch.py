"""New conversations stored in groups: each gets what a conversation opened alone gets (ticket, trace, SLA jobs),
a provider id is stored once inside a group too, and a mailbox's batch (`deliver_many`) is stored in order."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.domain import Identity, Inbound, NotAttempted
from hub.store.schema import customers, jobs, messages, tickets, trace
from tests.hubtest import hub_config, running_hub


def chat(pid: str, visitor: str, text: str = "my parcel has not arrived") -> Inbound:
    return Inbound(channel="webchat", provider_id=pid, sender=Identity("webchat", visitor), text=text,
                   received_at=datetime.now(timezone.utc), sender_name=f"Visitor {visitor}")


def mail(pid: str, sender: str, text: str, refs: tuple[str, ...] = ()) -> Inbound:
    return Inbound(channel="email", provider_id=pid, sender=Identity("email", sender), text=text,
                   received_at=datetime.now(timezone.utc), subject="order 1234", thread_refs=refs)


async def _per_ticket(h: Any, table: Any, column: Any) -> dict[int, int]:
    async with h.hub.db.read() as conn:
        return dict((await conn.execute(select(column, func.count()).group_by(column))).all())


async def _sla_jobs(h: Any, ticket_id: int) -> list[tuple[str, str]]:
    async with h.hub.db.read() as conn:
        rows = await conn.execute(select(jobs.c.kind, jobs.c.key).where(jobs.c.key.like(f"sla:%:{ticket_id}")).order_by(jobs.c.key))
        return [(r.kind, r.key.rsplit(":", 1)[0]) for r in rows]


async def test_a_group_of_new_conversations_gets_what_one_alone_gets(db_url: str) -> None:
    async with running_hub(hub_config(db_url)) as h:
        alone = await h.hub.intake.deliver(chat("alone-1", "v-alone"))
        # One turn of the loop: these share a transaction.  Two carry the same provider id (a resent frame), one
        # repeats the id stored above (from a sender this process has not seen), and one visitor writes twice.
        batch = [chat(f"g-{i}", f"v-{i}") for i in range(10)]
        batch += [chat("g-3", "v-3"), chat("alone-1", "v-unseen"), chat("g-10", "v-0", "and another thing")]
        alone_calls: list[Inbound] = []
        store_alone = h.hub.intake._store_alone

        async def counted(inbound: Inbound) -> Any:
            alone_calls.append(inbound)
            return await store_alone(inbound)

        h.hub.intake._store_alone = counted  # type: ignore[method-assign]
        got = await asyncio.gather(*(h.hub.intake.deliver(i) for i in batch))
        assert alone_calls == []  # one transaction held them all: nothing fell back to storing one by one
        first = got[:10]
        assert len({a.ticket_id for a in first}) == 10 and not any(a.duplicate for a in first)
        assert got[10].duplicate and got[10].message_id == first[3].message_id
        assert got[11].duplicate and got[11].message_id == alone.message_id
        assert not got[12].duplicate and got[12].ticket_id == first[0].ticket_id  # the same chat continues
        await h.settle()  # the review after the commit raises these complaints: compare once all are reviewed
        traces = await _per_ticket(h, trace, trace.c.ticket_id)
        expected_jobs = await _sla_jobs(h, alone.ticket_id)
        assert expected_jobs  # the test config arms SLA jobs, so the comparison below means something
        for a in first:
            assert traces[a.ticket_id] == traces[alone.ticket_id]
            assert await _sla_jobs(h, a.ticket_id) == expected_jobs
        async with h.hub.db.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(messages))).scalar_one() == 12
            assert (await conn.execute(select(func.count()).select_from(customers))).scalar_one() == 11
            names = dict((await conn.execute(select(tickets.c.id, customers.c.name).join(customers, customers.c.id == tickets.c.customer_id))).all())
        assert names[first[4].ticket_id] == "Visitor v-4"


async def test_a_mailbox_batch_is_stored_in_order_and_stops_at_a_mail_that_fails(db_url: str) -> None:
    async with running_hub(hub_config(db_url)) as h:
        intake = h.hub.intake
        known = await intake.deliver(mail("<k-1@example.net>", "known@example.net", "first mail"))

        async def refuse(conn: Any, inbound: Inbound, cid: int, iid: int, now: datetime) -> None:
            if "cannot be stored" in inbound.text:
                raise RuntimeError("refused")
            return None

        intake.interceptors.append(refuse)
        batch = [
            mail("<a-1@example.net>", "a@example.net", "where is my order"),
            mail("<a-2@example.net>", "b@example.net", "same order, in copy", refs=("<a-1@example.net>",)),
            mail("<k-2@example.net>", "known@example.net", "this one cannot be stored"),
            mail("<c-1@example.net>", "c@example.net", "after the failure"),
        ]
        got = await intake.deliver_many(batch)
        assert not isinstance(got[0], BaseException) and not isinstance(got[1], BaseException)
        assert got[1].ticket_id == got[0].ticket_id  # the reply in the same batch found the mail before it
        assert isinstance(got[2], RuntimeError) and isinstance(got[3], NotAttempted)
        async with h.hub.db.read() as conn:
            ids = set((await conn.execute(select(messages.c.provider_id))).scalars())
        assert ids == {"<k-1@example.net>", "<a-1@example.net>", "<a-2@example.net>"}
        intake.interceptors.remove(refuse)
        again = await intake.deliver_many(batch)  # the mailbox fetches the batch again
        assert [getattr(a, "duplicate", None) for a in again] == [True, True, False, False]
        assert not isinstance(again[2], BaseException) and again[2].customer_id == known.customer_id


@pytest.mark.parametrize("size", [1, 130])
async def test_deliver_many_returns_one_result_per_message_across_groups(sqlite_url: str, size: int) -> None:
    async with running_hub(hub_config(sqlite_url)) as h:
        batch = [mail(f"<m-{i}@example.net>", f"s{i % 7}@example.net", f"mail {i}") for i in range(size)]
        got = await h.hub.intake.deliver_many(batch)
        assert len(got) == size and not any(isinstance(a, BaseException) or a.duplicate for a in got)
        assert len({a.message_id for a in got}) == size


async def test_a_mailbox_batch_lets_the_loop_serve_others_between_its_groups(sqlite_url: str) -> None:
    """A batch of new tickets is stored a few at a time, the loop free in between: the mailbox's next FETCH, the
    parser's answer and agents' requests are not held up until the whole batch is stored."""
    from hub.grouping import BATCH_GROUP

    async with running_hub(hub_config(sqlite_url)) as h:
        batch = [mail(f"<y-{i}@example.net>", f"y{i}@example.net", f"mail {i}") for i in range(3 * BATCH_GROUP)]
        turns: list[int] = []  # how many messages were stored each time another task got the loop
        stored = 0
        store = h.hub.intake.store.store

        async def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal stored
            stored += 1
            return await store(*args, **kwargs)

        h.hub.intake.store.store = counting  # type: ignore[method-assign]
        many = asyncio.ensure_future(h.hub.intake.deliver_many(batch))
        while not many.done():
            turns.append(stored)
            await asyncio.sleep(0)
        assert not any(isinstance(a, BaseException) for a in many.result())
        # Served between groups: the loop came back while the batch was under way, never later than a group.
        seen = sorted({n for n in turns if 0 < n < len(batch)})
        assert seen and all(b - a <= BATCH_GROUP for a, b in zip([0, *seen], [*seen, len(batch)]))


async def test_a_copy_from_a_sender_it_would_create_is_reported_as_the_first(db_url: str) -> None:
    """Alone, a message from an unknown sender is stored without a look for its provider id first; when the id is
    stored already (the same id from another sender), the insert's unique key catches it: the first copy is
    reported and nothing of the would-be new customer stays."""
    async with running_hub(hub_config(db_url)) as h:
        first = await h.hub.intake.deliver(chat("dup-1", "v-first"))
        again = await h.hub.intake.deliver(chat("dup-1", "v-first"))  # known sender: looked up before storing
        other = await h.hub.intake.deliver(chat("dup-1", "v-other"))  # unknown sender: caught by the unique key
        assert again.duplicate and again.message_id == first.message_id
        assert other.duplicate and other.message_id == first.message_id and other.ticket_id == first.ticket_id
        async with h.hub.db.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(customers))).scalar_one() == 1
            assert (await conn.execute(select(func.count()).select_from(messages))).scalar_one() == 1


async def test_a_provider_id_is_a_duplicate_only_on_its_own_channel(db_url: str) -> None:
    """The group's look for stored provider ids goes channel by channel (the (channel, provider id) key): a chat
    frame that carries a mail's Message-ID is a message of its own, and the mail fetched again is the first copy."""
    async with running_hub(hub_config(db_url)) as h:
        first = await h.hub.intake.deliver(mail("<same@example.net>", "a@example.net", "where is my order?"))
        got = await h.hub.intake.deliver_many([
            chat("<same@example.net>", "v-1", "hello"),
            mail("<same@example.net>", "a@example.net", "where is my order?"),
            mail("<new@example.net>", "b@example.net", "a question about sizes"),
            chat("c-2", "v-2", "hi there"),
        ])
        assert [a.duplicate for a in got] == [False, True, False, False]
        assert got[1].message_id == first.message_id and got[0].message_id != first.message_id
        async with h.hub.db.read() as conn:
            stored = (await conn.execute(select(messages.c.channel, messages.c.provider_id)
                                         .where(messages.c.provider_id == "<same@example.net>"))).all()
        assert sorted(stored) == [("email", "<same@example.net>"), ("webchat", "<same@example.net>")]


def _count_groups(intake: Any) -> list[int]:
    """The sizes of the groups `intake` commits from now on, in order (one transaction each)."""
    groups: list[int] = []
    commit_group = intake._commit_group

    async def counted(group: Any, **kw: Any) -> Any:
        groups.append(len(group))
        return await commit_group(group, **kw)

    intake._commit_group = counted
    return groups


async def test_under_load_messages_of_the_next_turns_gather_into_the_group(db_url: str) -> None:
    """After a commit of several messages, messages arriving within `database.group_wait_ms` share the next
    transaction even when they come in different turns of the loop; an idle hub, and one caller handing over message
    after message, store at once."""
    # A wide wait, so that the turns below fall inside it on a slow machine too.
    async with running_hub(hub_config(db_url, database={"url": db_url, "group_wait_ms": 100})) as h:
        intake = h.hub.intake
        assert intake.gather_wait() == 0  # nothing committed yet: idle
        groups = _count_groups(intake)
        first = await intake.deliver(chat("w-0", "w-v0"))
        # One caller, one message at a time, from the same sender and from others: nothing to wait for.
        one_by_one = [await intake.deliver(chat("w-00", "w-v0", "and another thing")),
                      await intake.deliver(chat("w-01", "w-v01")), await intake.deliver(chat("w-02", "w-v02"))]
        assert groups == [1, 1, 1, 1] and one_by_one[0].ticket_id == first.ticket_id
        assert intake.gather_wait() == 0
        # Two senders in one turn form a group; after it, the messages of the next turns wait and join one group.
        await asyncio.gather(*(intake.deliver(chat(f"w-{i}", f"w-v{i}")) for i in (1, 2)))
        assert groups[-1] == 2 and intake.gather_wait() > 0
        waiting = []
        for i in (3, 4, 5):
            waiting.append(asyncio.ensure_future(intake.deliver(chat(f"w-{i}", f"w-v{i}"))))
            await asyncio.sleep(0)
            await asyncio.sleep(0)  # later turns of the loop, within the wait
        got = await asyncio.gather(*waiting)
        assert groups == [1, 1, 1, 1, 2, 3]  # one transaction for the three
        assert len({a.ticket_id for a in got}) == 3 and not any(a.duplicate for a in got)
        await h.settle()
        async with h.hub.db.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(messages))).scalar_one() == 9


async def test_under_load_a_group_that_opens_conversations_waits_longer_to_gather(db_url: str) -> None:
    """Each new conversation's commit writes the last pages of many tables and indexes, which the next new
    conversations share: under load their group waits HEAVY_WAIT times `database.group_wait_ms` for more to join,
    while a group of conversations under way keeps the plain wait (their acks stay as quick as they were)."""
    from hub.grouping import HEAVY_WAIT

    async with running_hub(hub_config(db_url, database={"url": db_url, "group_wait_ms": 100})) as h:
        intake = h.hub.intake
        await asyncio.gather(*(intake.deliver(chat(f"g-{i}", f"g-v{i}")) for i in (1, 2)))  # a group of two: crowded
        loop = asyncio.get_running_loop()
        pending = loop.create_future()
        pending.set_result(None)  # never awaited: only the waiting policy is asked
        try:
            intake._pending = [(chat("g-3", "g-v1", "and another thing"), pending)]  # a known sender goes on
            under_way = intake.gather_wait()
            intake._pending.append((chat("g-4", "g-v4"), pending))  # a new visitor joins the group
            opening = intake.gather_wait()
        finally:
            intake._pending = []
        assert 0 < under_way <= 0.1
        assert 0.1 < opening <= 0.1 * HEAVY_WAIT and opening - under_way == pytest.approx(0.1 * (HEAVY_WAIT - 1), abs=0.01)


async def test_a_flood_of_new_visitors_is_stored_sixteen_to_a_transaction(db_url: str) -> None:
    """Each new visitor's message opens a ticket the long way (~0.7 ms): 40 in one turn are stored 16, 16 and 8 to a
    transaction, so that the loop serves agents between them; known senders' short messages still go 64 to one."""
    async with running_hub(hub_config(db_url)) as h:
        intake = h.hub.intake
        groups = _count_groups(intake)
        opened = await asyncio.gather(*(intake.deliver(chat(f"f-{i}", f"f-v{i}")) for i in range(40)))
        assert groups == [16, 16, 8] and len({a.ticket_id for a in opened}) == 40
        groups.clear()
        await asyncio.gather(*(intake.deliver(chat(f"f-{i}-again", f"f-v{i}", "still waiting")) for i in range(40)))
        assert groups == [40]  # the same visitors again: the fast path
