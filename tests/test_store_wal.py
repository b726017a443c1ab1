"""SQLite's log is checkpointed off the event loop (hub.store.wal): the writer's commits never checkpoint, the log
still starts anew instead of growing while writes go on, and a process killed at any moment, during a checkpoint
too, loses no committed row."""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from functools import partial
from pathlib import Path

import pytest

from sqlalchemy import text

from hub.store import db as store_db
from hub.store import wal
from hub.store.db import Database
from hub.store.wal import WalCheckpointer

PAGE = 4096


async def _table(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))


async def test_the_writer_never_checkpoints_and_the_log_starts_anew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hub.db"
    db = Database(f"sqlite:///{path}")
    await _table(db)
    # The log starts anew at 2,000 frames here rather than 8,000, so that a short test sees it happen several times.
    monkeypatch.setattr(store_db, "WalCheckpointer", partial(WalCheckpointer, restart_frames=2000))
    checkpointer = db.checkpoint_in_background()
    assert checkpointer is not None
    try:
        async with db.write() as conn:
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
        rows, biggest = 0, 0
        # About 12,000 pages written, twelve times the point where a checkpoint is due, in transactions of five rows
        # with the loop free between them, as a busy hub's writer is.
        for _ in range(2000):
            async with db.write() as conn:
                for _ in range(5):
                    await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": os.urandom(2400).hex()})
                    rows += 1
            biggest = max(biggest, (path.parent / "hub.db-wal").stat().st_size)
            await asyncio.sleep(0.0002)
        assert checkpointer.checkpoints >= 5 and checkpointer.restarts >= 2
        # A log that never started anew would hold all 12,000 pages (~48 MB).
        assert biggest < 2.5 * checkpointer.restart_frames * PAGE
    finally:
        await db.close()
    assert not (path.parent / "hub.db-wal").exists()  # the last connection to close copied the rest
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone()[0] == rows


async def test_waiting_counts_the_frames_not_yet_copied(tmp_path: Path) -> None:
    path = str(tmp_path / "w.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (v BLOB)")
    checkpointer = WalCheckpointer(path, asyncio.Lock)  # `hold` is not used here
    for _ in range(300):
        conn.execute("INSERT INTO t VALUES (?)", (os.urandom(3000),))
    waiting = checkpointer.waiting()
    busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, waiting) == (0, frames) and frames > 300
    assert checkpointer.waiting() == 0 and copied == frames
    conn.close()
    checkpointer.close()


# Writes numbered rows, checkpointing in the background, and prints each number once its transaction committed.
_WRITER = """
import asyncio, os, sys
from sqlalchemy import text
from hub.store import db as store_db
from hub.store import wal
from hub.store.db import Database

async def main():
    db = Database("sqlite:///" + sys.argv[1])
    db.checkpoint_in_background()
    n = 0
    while True:
        async with db.write() as conn:
            for _ in range(4):
                n += 1
                await conn.execute(text("INSERT INTO t (id, v) VALUES (:id, :v)"), {"id": n, "v": os.urandom(2000).hex()})
        print(n, flush=True)
        await asyncio.sleep(0)

asyncio.run(main())
"""


async def test_a_process_killed_while_checkpointing_loses_no_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    db = Database(f"sqlite:///{path}")
    await _table(db)
    await db.close()
    root = Path(__file__).resolve().parents[1]
    for kill_after in (1300, 2700, 4100):  # rows: past one, two and three checkpoints' worth of pages
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WRITER, str(path), cwd=root, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(root)})
        assert proc.stdout is not None
        committed = 0
        try:
            while committed < kill_after:
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                assert line, "the writer stopped"
                committed = int(line)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        with sqlite3.connect(path) as check:
            stored = check.execute("SELECT max(id), count(*) FROM t").fetchone()
        assert stored[0] >= committed and stored[1] == stored[0]  # every committed row, no gap
        with sqlite3.connect(path) as reset:  # the next round numbers from 1 again
            reset.execute("DELETE FROM t")


async def test_a_failed_checkpoint_does_not_end_the_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "f.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (v BLOB)")
    monkeypatch.setattr(wal, "FAILED_PAUSE", 0.01)
    checkpointer = WalCheckpointer(path, asyncio.Lock, pages=10, every=0.01)
    real, calls = checkpointer.frames, []

    def frames() -> tuple[int, int]:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the disk is full")
        return real()

    checkpointer.frames = frames  # type: ignore[method-assign]
    for _ in range(50):
        conn.execute("INSERT INTO t VALUES (?)", (os.urandom(3000),))
    task = asyncio.create_task(checkpointer.run())
    try:
        for _ in range(500):
            if real()[1] == 0:
                break
            await asyncio.sleep(0.01)
        assert len(calls) > 1 and real()[1] == 0  # failed once, then copied everything
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        conn.close()
