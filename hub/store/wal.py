"""SQLite's write-ahead log copied back into the database file off the event loop.

By default SQLite checkpoints inside the commit that takes the log past 1,000 pages: that commit copies every page
the log holds into the database file and syncs both (synchronous=NORMAL syncs at checkpoints only).  The hub's
writer runs on the event loop (hub.store.db), so that commit held every socket and request of the process for the
copy and the two syncs, about ten times a second while new conversations pour in.

Here the writer's connections never checkpoint (`wal_autocheckpoint=0`).  A task looks every LOOK_EVERY at how
many frames wait in the log, and past CHECKPOINT_PAGES it runs a PASSIVE checkpoint from a connection of its own,
in a thread (the sqlite3 module lets go of the GIL while SQLite copies and syncs).  A passive checkpoint takes no
lock that the hub's writer or readers wait for, so the hub goes on writing meanwhile.

That leaves one thing undone: SQLite writes the log from its start again only when a writer begins with every frame
copied, and with writes going on beside the copy that moment may never come, so the log would grow without end.
Once it holds RESTART_FRAMES, the task copies the last frames holding the hub's write lock (writers queue on it, the
loop stays free: a few milliseconds, against the whole checkpoint on the loop before), and the next writer starts
the log anew.

What is committed is in the log, and the log is part of the database: a crash before a checkpoint loses nothing
(the next connection recovers from it), exactly as between two automatic checkpoints.  The last connection to
close checkpoints the whole log, as SQLite always does.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import struct
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager

log = logging.getLogger("hub.store")

__all__ = ["WalCheckpointer", "CHECKPOINT_PAGES"]

# SQLite's own default for wal_autocheckpoint: the log is copied back at about the size it was before.
CHECKPOINT_PAGES = 1000
# The log's length in frames at which its end is copied under the write lock, so that it starts anew (~32 MB with
# 4 KB pages): once every eight checkpoints rather than at each, since each such copy holds the writers.
RESTART_FRAMES = 8 * CHECKPOINT_PAGES
# Passes without the lock, at most, before the one under it: each copies what was written during the one before.
CATCH_UP = 3
# How often the task looks at how many pages wait: one read of 104 bytes, nothing more unless a checkpoint is due.
LOOK_EVERY = 0.05
# After an unexpected failure (a full disk, say), the next try.
FAILED_PAUSE = 5.0
# The wal-index header at the start of the "-shm" file (sqlite.org/walformat.html, "The WAL-Index Header"): mxFrame,
# the log's last frame, at byte 16, and the checkpoint information's nBackfill, the frames already copied, at byte
# 96; both 32-bit in the machine's own byte order.  The log's file is reused from its start, so its size says nothing.
_MX_FRAME, _BACKFILL, _HEADER = 16, 96, 104


class WalCheckpointer:
    """Checkpoints `path`'s log while `run()` runs; `hold()` is the hub's write lock, for the log's end."""

    def __init__(self, path: str, hold: Callable[[], AbstractAsyncContextManager[object]], *,
                 pages: int = CHECKPOINT_PAGES, restart_frames: int = RESTART_FRAMES, every: float = LOOK_EVERY) -> None:
        self.path, self.shm, self.hold = path, path + "-shm", hold
        self.pages, self.restart_frames, self.every = pages, restart_frames, every
        self.checkpoints = 0  # checkpoints run (tests, logs)
        self.restarts = 0  # of which copied the log's end under the lock, so that it starts anew
        self._conn = sqlite3.connect(path, timeout=0, check_same_thread=False, isolation_level=None)
        # One thread of its own: the connection is used by one thread at a time, and closed after its last call.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")

    async def _in_thread(self, fn: Callable[[], object]) -> object:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    def frames(self) -> tuple[int, int]:
        """(frames in the log, frames of it not yet copied), read from the wal-index without a lock: a torn read
        only moves one checkpoint a little."""
        try:
            with open(self.shm, "rb", buffering=0) as f:
                head = f.read(_HEADER)
        except FileNotFoundError:
            return 0, 0
        if len(head) < _HEADER:
            return 0, 0
        last, copied = struct.unpack_from("=I", head, _MX_FRAME)[0], struct.unpack_from("=I", head, _BACKFILL)[0]
        return last, max(0, last - copied)

    def waiting(self) -> int:
        return self.frames()[1]

    def _passive(self) -> tuple[int, int, int] | None:
        """(busy, frames in the log, frames copied), or None when another connection held the database (a
        migration, a backup: the next look tries again)."""
        try:
            row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
            self.checkpoints += 1
            return row
        except sqlite3.OperationalError as exc:
            log.debug("checkpoint skipped: %s", exc)
            return None

    async def checkpoint(self) -> bool:
        """Copy what waits, beside the writer; when the log has grown long, its end too, under the write lock.
        True when the log will start anew at the next write."""
        row = await self._in_thread(self._passive)
        if row is None or self.frames()[0] < self.restart_frames:
            return False
        for _ in range(CATCH_UP):  # what was written meanwhile, while it is much
            if row is None or self.waiting() <= self.pages // 10:
                break
            row = await self._in_thread(self._passive)
        if row is None:
            return False
        async with self.hold():
            # Even when the last pass reached the log's end: a writer that began before it finished writes on after
            # the end it saw, and only a writer that begins with every frame copied starts the log anew.
            if self.waiting():
                await self._in_thread(self._passive)
            done = self.waiting() == 0  # read while no writer of this process can add to the log
        self.restarts += done
        return done

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.every)
                try:
                    if self.waiting() >= self.pages:
                        await self.checkpoint()
                except Exception:  # the writers no longer checkpoint: this task must outlive any one failure
                    log.exception("checkpoint failed; trying again in %.0f s", FAILED_PAUSE)
                    await asyncio.sleep(FAILED_PAUSE)
        finally:
            # Closed before the hub's own connections, so that the last of those to close copies the rest of the log
            # and removes it, as SQLite's last connection does.
            await asyncio.wrap_future(self.close())

    def close(self) -> Future[None]:
        """Close the connection after a checkpoint still copying, if there is one (the thread runs one call at a
        time)."""
        done = self._thread.submit(self._conn.close)
        self._thread.shutdown(wait=False)
        return done
