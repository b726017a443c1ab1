"""Long polling: duplicates, a durable offset that moves only after commit, restart mid-stream, unreadable updates,
and the guard that keeps tests off the real Telegram API."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import telegram
import telegram.error
from sqlalchemy import select

from hub.domain import Accepted, Inbound
from hub.store.schema import checkpoints
from tests.fake_telegram import TOKEN, FakeTelegram, load, stored, telegram_hub, text_update, wait_stored
from tests.hubtest import RunningHub


async def offset(h: RunningHub, fake: FakeTelegram) -> int | None:
    async with h.hub.db.read() as conn:
        v = (await conn.execute(select(checkpoints.c.value).where(checkpoints.c.key == f"telegram:offset:{fake.bot_id}"))).scalar()
    return int(v) if v else None


def offsets_asked(fake: FakeTelegram) -> list[int | None]:
    return [int(p["offset"]) if p.get("offset") else None for p in fake.called("getUpdates")]


async def test_duplicate_updates_are_stored_once(sqlite_url: str) -> None:
    async with FakeTelegram() as fake, telegram_hub(sqlite_url, fake) as h:
        fake.push(load("text_th"))
        await wait_stored(h, 1)
        again = fake.push(load("text_th"))  # the same message under a new update id
        await fake.wait_for(lambda: (again + 1) in offsets_asked(fake))
        assert [r.provider_id for r in await stored(h)] == ["7012345678:11"]
        assert await offset(h, fake) == again + 1


class _LostAck:
    """Checkpoints whose writes fail: the process "dies" after the commit and before the offset is saved."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def get(self, key: str) -> str | None:
        return await self.inner.get(key)

    async def set(self, key: str, value: str) -> None:
        raise ConnectionError("lost before the offset was saved")


async def test_an_update_redelivered_after_a_crash_is_stored_once(sqlite_url: str) -> None:
    async with FakeTelegram() as fake:
        async with telegram_hub(sqlite_url, fake) as h:
            channel: Any = h.hub.channels["telegram"]
            await fake.wait_for(lambda: channel.poller is not None)
            channel.poller.checkpoints = _LostAck(channel.poller.checkpoints)
            uid = fake.push(load("text_fa"))
            await wait_stored(h, 1)
        assert uid in fake.pending  # never acknowledged: Telegram sends it again
        fake.calls.clear()
        async with telegram_hub(sqlite_url, fake) as h:
            await fake.wait_for(lambda: (uid + 1) in offsets_asked(fake))
            assert [r.provider_id for r in await stored(h)] == ["6120987654:3"]
            assert await offset(h, fake) == uid + 1


async def test_offset_waits_for_the_commit(sqlite_url: str) -> None:
    async with FakeTelegram() as fake, telegram_hub(sqlite_url, fake) as h:
        channel: Any = h.hub.channels["telegram"]
        real = channel._ctx.deliver
        failures = {"left": 3}

        async def flaky(inbound: Inbound) -> Accepted:
            if failures["left"]:
                failures["left"] -= 1
                raise ConnectionError("database unavailable")
            return await real(inbound)

        channel._ctx = dataclasses.replace(channel._ctx, deliver=flaky)
        uid = fake.push(text_update(31337, 5, "is anyone there?"))
        rows = await wait_stored(h, 1, timeout=20)
        assert rows[0].provider_id == "31337:5" and failures["left"] == 0
        await fake.wait_for(lambda: (uid + 1) in offsets_asked(fake))
        asked = offsets_asked(fake)
        # Every failed attempt fetched the update again: the offset never moved past it before it was stored.
        assert asked.index(uid + 1) >= 4 and all(o is None or o <= uid for o in asked[: asked.index(uid + 1)])
        assert await offset(h, fake) == uid + 1


async def test_restart_mid_stream_loses_nothing_and_duplicates_nothing(sqlite_url: str) -> None:
    chats = [7100000000 + i for i in range(8)]
    expected: set[str] = set()

    def feed(start: int, count: int) -> None:
        for n in range(start, start + count):
            chat = chats[n % len(chats)]
            fake.push(text_update(chat, n, f"message {n} from {chat}"))
            expected.add(f"{chat}:{n}")

    async with FakeTelegram() as fake:
        fake.max_batch = 5  # many small batches, so the stop lands mid-stream
        feed(1, 60)
        async with telegram_hub(sqlite_url, fake) as h:
            await wait_stored(h, 15)
        first_run = len(await _all(sqlite_url, fake))
        assert 15 <= first_run < 80
        feed(61, 20)
        fake.calls.clear()
        async with telegram_hub(sqlite_url, fake) as h:
            rows = await wait_stored(h, 80, timeout=30)
            assert offsets_asked(fake)[0] is not None  # resumed from the stored offset
            assert len(rows) == 80 and {r.provider_id for r in rows} == expected
            by_ticket: dict[int, list[int]] = {}
            for r in rows:
                by_ticket.setdefault(r.ticket_id, []).append(int(r.provider_id.split(":")[1]))
            assert len(by_ticket) == len(chats)
            assert all(ids == sorted(ids) for ids in by_ticket.values())  # each chat's order kept


async def _all(sqlite_url: str, fake: FakeTelegram) -> list[Any]:
    from hub.store.db import Database
    from hub.store.schema import messages

    db = Database(sqlite_url)
    try:
        async with db.read() as conn:
            return list((await conn.execute(select(messages.c.provider_id).where(messages.c.channel == "telegram"))).all())
    finally:
        await db.close()


async def test_an_update_this_library_cannot_read_is_skipped_alone(sqlite_url: str) -> None:
    async with FakeTelegram() as fake, telegram_hub(sqlite_url, fake) as h:
        fake.push(load("poll_old_api"))
        last = fake.push(load("text_fa"))
        [row] = await wait_stored(h, 1)
        assert row.text == load("text_fa")["message"]["text"]
        await fake.wait_for(lambda: (last + 1) in offsets_asked(fake))


async def test_real_telegram_is_unreachable_from_tests() -> None:
    bot = telegram.Bot(TOKEN)  # the default base_url: api.telegram.org
    with pytest.raises(telegram.error.NetworkError, match="real Telegram"):
        await bot.get_me()
    await bot.shutdown()
