"""Pages SQLite writes per new conversation, and whose they are: the figure behind group commit, since every commit
writes each page its transaction touched in full to the write-ahead log, however little of it changed.

    python bench/intake_pages.py [--conversations 500] [--group 5]
    HUB_BENCH_TREE=../other-checkout python bench/intake_pages.py    # the same against another checkout

The hub runs in this process with the language review in its own (as `hub serve` does) and its checkpointer held off,
so the log keeps every frame written.  After a warm-up of 200 conversations, `--conversations` new conversations are
handed over in groups of `--group` (a flood of new web chat visitors commits about five to a group: see
BENCHMARKS.md), the review catches up, and the log's new frames are read back: each frame is one page written, and
the database's `dbstat` table names the table or index the page belongs to.  Frames and commits of the review's own
transactions are counted with the conversations that caused them.

Baseline in the same run: sqlite3 itself storing one row per conversation in a table keyed by a unique
(channel, provider id), committed in the same groups (the least a stored message can write).
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("HUB_NLP_ENCODER", "none")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TREE = os.environ.get("HUB_BENCH_TREE") or _ROOT
sys.path[0:1] = [_TREE] if _TREE == _ROOT else [_TREE, _ROOT]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import struct  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.common import emit, machine  # noqa: E402

_WAL_HEADER, _FRAME_HEADER = 32, 24  # sqlite.org/walformat.html


def _frames(wal: Path, since: int) -> tuple[list[int], int, int]:
    """Page numbers of the log's frames written after byte `since`, the commits among them, and the page size.  Only
    frames of the log's current run count (their salts equal the header's): nothing restarted the log meanwhile."""
    data = wal.read_bytes()
    page = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    step = _FRAME_HEADER + page
    at = max(_WAL_HEADER, since - (since - _WAL_HEADER) % step)
    pages, commits = [], 0
    while at + step <= len(data):
        number, size_after = struct.unpack(">II", data[at:at + 8])
        if data[at + 8:at + 16] != salts:
            break
        pages.append(number)
        commits += size_after != 0  # a commit frame holds the database's size after it
        at += step
    return pages, commits, page


def _owners(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as c:
        return {p: name for name, p in c.execute("SELECT name, pageno FROM dbstat")}


async def _hub(folder: Path, n: int, group: int) -> tuple[list[str], int, int]:
    from bench.intake_cpu import _inbound
    from hub.store import wal
    from tests.hubtest import hub_config, running_hub

    async def held_off(self: wal.WalCheckpointer) -> None:  # the log keeps every frame
        await asyncio.Event().wait()

    wal.WalCheckpointer.run = held_off  # type: ignore[method-assign]
    db = folder / "hub.db"
    cfg = hub_config(f"sqlite+aiosqlite:///{db}", rate_limits={"enabled": False}, review={"worker": "process"})
    async with running_hub(cfg) as h:
        intake = h.hub.intake
        await intake.deliver_many([_inbound(f"warm{i}", 0) for i in range(200)])
        await h.settle()
        log = folder / "hub.db-wal"
        since = log.stat().st_size
        for s in range(0, n, group):
            await intake.deliver_many([_inbound(f"c{i}", 0) for i in range(s, min(n, s + group))])
        await h.settle()
        pages, commits, size = _frames(log, since)
        owners = _owners(db)
    return [owners.get(p, "(free or new)") for p in pages], commits, size


def _baseline(folder: Path, n: int, group: int) -> tuple[int, int]:
    db = folder / "floor.db"
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, channel TEXT, provider_id TEXT, text TEXT, created_at TEXT, "
              "UNIQUE (channel, provider_id))")
    since = (folder / "floor.db-wal").stat().st_size
    for s in range(0, n, group):
        c.execute("BEGIN IMMEDIATE")
        for i in range(s, min(n, s + group)):
            c.execute("INSERT INTO m (channel, provider_id, text, created_at) VALUES ('webchat', ?, ?, ?)",
                      (os.urandom(16).hex(), "my order has not arrived", time.strftime("%Y-%m-%d %H:%M:%S")))
        c.execute("COMMIT")
    pages, commits, _ = _frames(folder / "floor.db-wal", since)
    c.close()
    return len(pages), commits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=500)
    ap.add_argument("--group", type=int, default=5, help="new conversations handed over together")
    args = ap.parse_args()
    n = args.conversations
    folder = Path(tempfile.mkdtemp())
    try:
        owners, commits, size = asyncio.run(_hub(folder, n, args.group))
        floor_frames, floor_commits = _baseline(folder, n, args.group)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    by = collections.Counter(owners)
    emit({
        "bench": "intake_pages", "machine": machine(), "date": time.strftime("%Y-%m-%d"), "tree": _TREE,
        "conversations": n, "group": args.group, "page_size": size,
        "pages_per_new_conversation": round(len(owners) / n, 2),
        "kb_per_new_conversation": round(len(owners) * (size + _FRAME_HEADER) / n / 1024, 1),
        "commits_per_new_conversation": round(commits / n, 3),
        "pages_per_conversation_by_table_or_index": {k: round(v / n, 2) for k, v in by.most_common()},
        "baseline_sqlite3_one_row_pages_per_conversation": round(floor_frames / n, 2),
        "over_baseline": round(len(owners) / max(floor_frames, 1), 1),
    })


if __name__ == "__main__":
    main()
