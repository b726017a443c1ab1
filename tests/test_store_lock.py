"""Another process holding SQLite's write lock must not stop the hub's event loop: writers wait for the lock with
the loop free, so other requests are served meanwhile, and the waiting write goes through once the lock is gone."""
from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hub.store.db import Database, is_busy
from hub.store.migrate import migrate
from hub.store.schema import messages
from tests.hubtest import RunningHub

# A separate process takes the write lock (BEGIN IMMEDIATE), says so, and keeps it until told to let go.
_HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


@asynccontextmanager
async def write_lock_held(url: str) -> AsyncIterator[None]:
    path = make_url(url).database
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLDER, str(path), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"locked"
        yield
    finally:
        holder.stdin.write(b"release\n")
        await holder.stdin.drain()
        await holder.wait()


async def _stored(h: RunningHub) -> int:
    async with h.hub.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(messages))).scalar_one()


async def test_requests_are_served_while_another_process_holds_the_write_lock(hub: RunningHub) -> None:
    chat = await hub.chat()
    async with write_lock_held(hub.hub.db.url):
        await chat.ws.send_json({"type": "message", "client_id": "c1", "text": "hello while the database is locked"})
        # The message's write waits for the lock; the same event loop still answers /healthz and serves reads.
        # (The bound only keeps a broken build from hanging the run.)
        status, body = await asyncio.wait_for(hub.api("GET", "/healthz"), 25)
        assert status == 200 and body["status"] == "ok"
        assert await _stored(hub) == 0  # answered while the write was still waiting for the lock
    ack = await chat.expect("ack", timeout=25)  # released: the waiting write went through
    assert ack["client_id"] == "c1" and await _stored(hub) == 1


async def test_a_write_that_never_gets_the_lock_fails_without_stopping_the_loop(sqlite_url: str) -> None:
    db = Database(sqlite_url, write_lock_wait=0.5)
    try:
        await migrate(db)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        async with write_lock_held(sqlite_url):
            with pytest.raises(OperationalError) as err:
                async with db.write() as conn:
                    await conn.execute(text("SELECT 1"))
            assert is_busy(err.value)
            assert ticks > before  # other coroutines ran while the write waited
            async with db.read() as conn:  # readers are not held up by the writer's lock (WAL)
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        task.cancel()
        async with db.write() as conn:  # the lock is gone: writing works again
            await conn.execute(text("SELECT 1"))
    finally:
        await db.close()
