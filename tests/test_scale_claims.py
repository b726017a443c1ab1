"""Outbox rows and scheduled jobs claimed by several workers at once: on PostgreSQL by three OS processes under row
locks (SKIP LOCKED), on SQLite by concurrent in-process workers with the conditional-UPDATE claim.  Every row is
sent once and every job fires exactly as often as it should, never twice."""
from __future__ import annotations

import asyncio
import os
import random
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from channels.base import Capabilities
from hub.bus import LocalBus
from hub.clock import Clock
from hub.config import OutboxConfig
from hub.domain import Identity, Inbound, Outbound, SendResult
from hub.events import Events
from hub.outbox import Outbox
from hub.scheduler import Job, Scheduler, schedule
from hub.store.db import Database
from hub.store.schema import jobs, outbox
from tests.hubtest import hub_config, running_hub
from tests.test_scale_support import ROOT

ROWS = 240
JOBS = 240


class RecordingChannel:
    """Appends each delivered outbox id to a file; O_APPEND keeps lines from several processes whole."""

    name = "webchat"
    capabilities = Capabilities(typing=False, buttons=False, max_text=10_000)

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    async def send(self, out: Outbound) -> SendResult:
        await asyncio.sleep(random.random() * 0.003)  # widen the window in which a second sender could interfere
        os.write(self.fd, f"{out.outbox_id}\n".encode())
        return SendResult(provider_id=None)


async def _pending(db: Database, table: Any, state_col: Any) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(state_col == "pending"))).scalar() or 0)


async def outbox_worker(url: str, record: str, seconds: float) -> None:
    """One sender: sweeps and also races the sweepers with direct attempts, as `kick` does after a reply."""
    db = Database(url, pool_size=4)
    box = Outbox(db, Events(LocalBus()), OutboxConfig(sweep_interval=0.01, lock_timeout=60), Clock(), {"webchat": RecordingChannel(record)})  # type: ignore[dict-item]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while loop.time() < deadline and await _pending(db, outbox, outbox.c.state):
            await asyncio.gather(box.sweep(limit=20), *(box.attempt(random.randint(1, ROWS)) for _ in range(5)))
    finally:
        await db.close()


async def scheduler_worker(url: str, record: str, seconds: float) -> None:
    db = Database(url, pool_size=4)
    sched = Scheduler(db, Clock(), interval=0.01)
    fd = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    @sched.handle("probe")
    async def probe(job: Job) -> None:
        os.write(fd, f"{job.key} {job.attempts}\n".encode())
        await asyncio.sleep(random.random() * 0.003)
        if job.payload.get("fail_once") and job.attempts == 1:
            raise RuntimeError("first attempt fails on purpose")
        if job.payload.get("again"):  # a handler that schedules its own key again (a follow-up)
            async with db.write() as conn:
                await schedule(conn, "probe", job.key, Clock().now(), {"again": False})

    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while loop.time() < deadline and await _pending(db, jobs, jobs.c.state):
            await sched.tick(limit=50)
            await asyncio.sleep(0.01)
    finally:
        await db.close()


async def _processes(kind: str, url: str, record: str, n: int = 3, seconds: float = 60.0) -> None:
    code = (
        "import asyncio, sys; from tests.test_scale_claims import outbox_worker, scheduler_worker; "
        f"asyncio.run({kind}_worker(sys.argv[1], sys.argv[2], float(sys.argv[3])))"
    )
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", code, url, record, str(seconds), cwd=ROOT) for _ in range(n)]
    codes = await asyncio.gather(*(p.wait() for p in procs))
    assert codes == [0] * n


async def _make_outbox_rows(url: str) -> None:
    """ROWS agent replies committed with their outbox rows and nobody sending them yet."""
    async with running_hub(hub_config(url, rate_limits={"enabled": False})) as h:
        await h.hub.outbox.stop()
        h.hub.outbox.kick = lambda oid, claimed=False: None  # type: ignore[method-assign]
        headers = await h.agent()
        tickets = []
        for i in range(12):
            acc = await h.hub.intake.deliver(Inbound("webchat", f"v{i}:1", Identity("webchat", f"visitor-{i}"), f"hello {i}", h.hub.clock.now()))
            tickets.append(acc.ticket_id)
        for k in range(ROWS):
            status, _ = await h.api("POST", f"/api/tickets/{tickets[k % len(tickets)]}/reply", headers, json={"text": f"reply {k}"})
            assert status == 201
        # Replies are written claimed by the process that commits them; release the claims, as after that process
        # died and its lock expired, so the senders below race over unclaimed rows.
        async with h.hub.db.write() as conn:
            await conn.execute(update(outbox).values(locked_until=None, attempts=0))


async def _check_outbox(url: str, record: str) -> None:
    sent = Counter(int(x) for x in Path(record).read_text().split())
    assert len(sent) == ROWS and max(sent.values()) == 1, sent.most_common(3)
    db = Database(url)
    try:
        async with db.read() as conn:
            rows = (await conn.execute(select(outbox.c.state, outbox.c.attempts))).all()
    finally:
        await db.close()
    assert Counter((r.state, r.attempts) for r in rows) == {("sent", 1): ROWS}  # each row claimed exactly once


async def test_outbox_three_processes_send_each_row_once(pg_url: str, tmp_path: Path) -> None:
    await _make_outbox_rows(pg_url)
    record = str(tmp_path / "sent.txt")
    await _processes("outbox", pg_url, record)
    await _check_outbox(pg_url, record)


async def test_outbox_concurrent_workers_on_sqlite_send_each_row_once(sqlite_url: str, tmp_path: Path) -> None:
    await _make_outbox_rows(sqlite_url)
    record = str(tmp_path / "sent.txt")
    await asyncio.gather(*(outbox_worker(sqlite_url, record, 60) for _ in range(3)))
    await _check_outbox(sqlite_url, record)


async def _make_jobs(url: str) -> dict[str, int]:
    """JOBS due jobs; returns how many times each must fire."""
    db = Database(url)
    expected: dict[str, int] = {}
    now = Clock().now()
    try:
        from hub.store.migrate import migrate

        await migrate(db)
        async with db.write() as conn:
            for i in range(JOBS):
                payload: dict[str, Any] = {}
                if i % 3 == 1:
                    payload["again"] = True
                elif i % 10 == 2:
                    payload["fail_once"] = True  # retried 2 s later by whichever process claims it then
                key = f"probe:{i}"
                expected[key] = 2 if payload else 1
                await schedule(conn, "probe", key, now - timedelta(seconds=1), payload)
    finally:
        await db.close()
    return expected


async def _check_jobs(url: str, record: str, expected: dict[str, int]) -> None:
    lines = Path(record).read_text().splitlines()
    fired = Counter(line.split()[0] for line in lines)
    assert dict(fired) == expected  # a follow-up or a retry fires again, nothing else ever does
    db = Database(url)
    try:
        async with db.read() as conn:
            states = Counter(r.state for r in (await conn.execute(select(jobs.c.state))).all())
    finally:
        await db.close()
    assert states == {"done": JOBS}


async def test_scheduler_three_processes_fire_each_job_exactly_once(pg_url: str, tmp_path: Path) -> None:
    expected = await _make_jobs(pg_url)
    record = str(tmp_path / "fired.txt")
    await _processes("scheduler", pg_url, record)
    await _check_jobs(pg_url, record, expected)


async def test_scheduler_concurrent_ticks_on_sqlite_fire_each_job_exactly_once(sqlite_url: str, tmp_path: Path) -> None:
    expected = await _make_jobs(sqlite_url)
    record = str(tmp_path / "fired.txt")
    await asyncio.gather(*(scheduler_worker(sqlite_url, record, 60) for _ in range(3)))
    await _check_jobs(sqlite_url, record, expected)
