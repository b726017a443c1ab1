"""The hub's own CPU per chat message, in one process: what storing, routing and reviewing cost without a network.

    python bench/intake_cpu.py [--conversations 3000] [--follow-ups 3] [--rounds 3] [--stored 1000000]
    HUB_BENCH_TREE=../other-checkout python bench/intake_cpu.py    # the same against another checkout's hub

Messages go through `Intake.deliver_many` in batches of 100 (as a busy loop turn or a mailbox fetch hands them
over), the language review in the hub's own thread with the lexical model (HUB_NLP_ENCODER=none unless set),
SQLite, so every step of the work is this process's CPU time, which a busy shared machine disturbs far less than
the rates of the socket benches.  The texts mix Thai, Persian and English questions and complaints.  Two figures: a message that
opens a conversation (a new customer, identity, ticket, routing, SLA jobs, the review and its escalation) and a
message that continues one (the chat fast path).  Baseline in the same run: the two statements a continuing message
needs, run on sqlite3 directly on the same kind of database (the storage floor).  `--stored N` puts N messages in the
store first, as a desk holds after months of work: a lookup that scans instead of searching shows there.  Prints JSON;
medians of --rounds.
"""
from __future__ import annotations

import os
import sys

# The sentence encoder's CPU (bench/nlp_eval.py --sections latency measures it) would swamp the intake's own here.
os.environ.setdefault("HUB_NLP_ENCODER", "none")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TREE = os.environ.get("HUB_BENCH_TREE") or _ROOT
# This folder must not stay first on sys.path: bench/email.py would hide the standard library's `email`.
sys.path[0:1] = [_TREE] if _TREE == _ROOT else [_TREE, _ROOT]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.common import emit, machine  # noqa: E402
from hub.domain import Identity, Inbound  # noqa: E402
from tests.hubtest import hub_config, running_hub  # noqa: E402

TEXTS = ("สวัสดีครับ สั่งของไปสามวันแล้วยังไม่ได้รับเลย", "سلام، سفارشم هنوز نرسیده", "hello, my order has not arrived",
         "what are your opening hours?")


def _inbound(who: str, k: int) -> Inbound:
    return Inbound(channel="webchat", provider_id=f"{who}-{k}", sender=Identity("webchat", who),
                   text=f"{TEXTS[(zlib.crc32(who.encode()) + k) % len(TEXTS)]} ({k})", received_at=datetime.now(timezone.utc))


def _fill(db: Path, stored: int) -> None:
    """`stored` more messages on the store's first ticket, each with its own provider id: a desk after months of
    work, whose messages table the intake's lookups must search, not scan."""
    if not stored:
        return
    c = sqlite3.connect(db)
    cols = [r[1] for r in c.execute("PRAGMA table_info(messages)") if r[1] != "id"]
    model = c.execute(f"SELECT {', '.join(cols)} FROM messages ORDER BY id LIMIT 1").fetchone()
    at = cols.index("provider_id")
    c.executemany(f"INSERT INTO messages ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                  ((*model[:at], f"stored-{k}", *model[at + 1:]) for k in range(stored)))
    c.commit()
    c.close()


async def _round(folder: Path, n: int, follow_ups: int, r: int, stored: int = 0) -> tuple[float, float]:
    db = folder / f"hub{r}.db"
    cfg = hub_config(f"sqlite+aiosqlite:///{db}", rate_limits={"enabled": False}, review={"worker": "thread"})
    async with running_hub(cfg) as h:
        intake = h.hub.intake
        await intake.deliver_many([_inbound(f"warm{i}", 0) for i in range(200)])  # imports, caches, first pages
        await h.settle()
        _fill(db, stored)
        t0 = time.process_time()
        for s in range(0, n, 100):
            await intake.deliver_many([_inbound(f"c{i}", 0) for i in range(s, min(n, s + 100))])
        await h.settle()
        opened = (time.process_time() - t0) * 1000 / n
        t0 = time.process_time()
        for k in range(1, follow_ups + 1):
            for s in range(0, n, 100):
                await intake.deliver_many([_inbound(f"c{i}", k) for i in range(s, min(n, s + 100))])
        await h.settle()
        continued = (time.process_time() - t0) * 1000 / (n * follow_ups)
    return opened, continued


def _floor(folder: Path, n: int, r: int) -> float:
    """The continuing message's two statements on sqlite3 itself: touch the ticket, insert the message, commit per
    100 (WAL, synchronous=NORMAL, as the hub opens its database)."""
    db = sqlite3.connect(folder / f"floor{r}.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT, updated_at TEXT)")
    db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, ticket_id INT, text TEXT, channel TEXT, provider_id TEXT, "
               "created_at TEXT, meta TEXT, UNIQUE (channel, provider_id))")
    db.executemany("INSERT INTO t (id, status, updated_at) VALUES (?, 'queued', '')", [(i,) for i in range(n)])
    t0 = time.process_time()
    for s in range(0, n, 100):
        db.execute("BEGIN IMMEDIATE")
        for i in range(s, min(n, s + 100)):
            now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
            db.execute("UPDATE t SET updated_at=? WHERE id=? AND status IN ('bot', 'queued', 'assigned') "
                       "RETURNING id, status, updated_at", (now, i)).fetchall()
            db.execute("INSERT INTO m (ticket_id, text, channel, provider_id, created_at, meta) VALUES (?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT DO NOTHING RETURNING id", (i, TEXTS[i % 4], "webchat", f"p{i}", now, "{}")).fetchall()
        db.execute("COMMIT")
    db.close()
    return (time.process_time() - t0) * 1000 / n


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=3000)
    ap.add_argument("--follow-ups", type=int, default=3, help="messages continuing each conversation")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stored", type=int, default=0, help="messages already in the store before the timed part")
    args = ap.parse_args()
    opened, continued, floor = [], [], []
    with tempfile.TemporaryDirectory() as d:
        for r in range(args.rounds):
            o, c = await _round(Path(d), args.conversations, args.follow_ups, r, args.stored)
            opened.append(o)
            continued.append(c)
            floor.append(_floor(Path(d), args.conversations * args.follow_ups, r))
    med = statistics.median
    emit({
        "bench": "intake_cpu", "machine": machine(), "date": time.strftime("%Y-%m-%d"), "tree": _TREE,
        "conversations": args.conversations, "follow_ups": args.follow_ups, "rounds": args.rounds,
        "stored_before": args.stored,
        "cpu_ms_per_new_conversation": round(med(opened), 3),
        "cpu_ms_per_continuing_message": round(med(continued), 3),
        "each_round": {"new": [round(x, 3) for x in opened], "continuing": [round(x, 3) for x in continued]},
        "baseline_sqlite3_two_statements_ms": round(med(floor), 3),
        "continuing_over_baseline": round(med(continued) / med(floor), 1),
    })


if __name__ == "__main__":
    asyncio.run(main())
