"""Machine instructions per chat message the hub stores, counted by valgrind: a figure that a busy or throttled
machine does not move, for comparing two trees where CPU seconds scatter by a fifth from one run to the next.

    python bench/intake_instructions.py [--messages 300] [--rounds 3]
    HUB_BENCH_TREE=../other-checkout python bench/intake_instructions.py    # the same against another checkout

Each round runs the hub in one process under `valgrind --tool=callgrind` with counting switched off; it is switched
on (`callgrind_control`) only around the measured part, after start-up and a warm-up of 200 conversations:
`--messages` new conversations in batches of 100 (as `bench/intake_cpu.py` hands them over: customer, ticket,
routing, SLA jobs, the language review's escalation), then in another round as many messages continuing those
conversations.  The review classifies in a process of its own, as `hub serve` does by default (review.worker), which
valgrind does not follow: the count is the hub's own process, the one whose core limits the rate
(`--review-worker thread` counts the classifier too).  Baseline in the same run: the continuing message's two statements on
sqlite3 itself, counted the same way (`bench/intake_cpu.py`'s storage floor).

Instructions are not time (C's printf is many cheap instructions, a cache miss one dear one), and the hub's timers
(the outbox sweep, the checkpoint task) run by the clock, which valgrind slows about fifty times: rounds differ by
a percent or two.  Medians are printed.  Needs valgrind (Debian's package).
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
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.common import emit, machine  # noqa: E402

BATCH = 100


def _count(on: bool) -> None:
    subprocess.run(["callgrind_control", "--instr=on" if on else "--instr=off", str(os.getpid())], check=True,
                   capture_output=True)


async def _measured(mode: str, n: int, worker: str) -> None:
    """Inside valgrind: start a hub, warm it up, and count only the measured messages."""
    from bench.intake_cpu import _inbound
    from tests.hubtest import hub_config, running_hub

    folder = Path(tempfile.mkdtemp())
    cfg = hub_config(f"sqlite+aiosqlite:///{folder / 'hub.db'}", rate_limits={"enabled": False},
                     review={"worker": worker})
    try:
        async with running_hub(cfg) as h:
            intake = h.hub.intake
            await intake.deliver_many([_inbound(f"warm{i}", 0) for i in range(200)])
            await h.settle()
            k = 0
            if mode == "continuing":
                for s in range(0, n, BATCH):
                    await intake.deliver_many([_inbound(f"c{i}", 0) for i in range(s, min(n, s + BATCH))])
                await h.settle()
                k = 1
            _count(True)
            for s in range(0, n, BATCH):
                await intake.deliver_many([_inbound(f"c{i}", k) for i in range(s, min(n, s + BATCH))])
            await h.settle()
            _count(False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _floor(n: int) -> None:
    from bench.intake_cpu import _floor as floor

    with tempfile.TemporaryDirectory() as d:
        floor(Path(d), 200, 0)  # warm-up: imports, the first pages
        _count(True)
        floor(Path(d), n, 1)
        _count(False)


def _run(mode: str, n: int, worker: str) -> float:
    """Instructions per message of one round, from a child process under callgrind."""
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={d}/cg.out",
             sys.executable, os.path.abspath(__file__), "--child", mode, "--messages", str(n),
             "--review-worker", worker],
            capture_output=True, text=True, env=dict(os.environ, HUB_BENCH_TREE=_TREE),
        )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"{mode}: valgrind run failed:\n{out.stderr[-2000:]}")
    return int(found.group(1)) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--review-worker", choices=["process", "thread"], default="process")
    ap.add_argument("--child", choices=["new", "continuing", "floor"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "floor":
        _floor(args.messages)
        return
    if args.child:
        asyncio.run(_measured(args.child, args.messages, args.review_worker))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    figures: dict[str, list[float]] = {"new": [], "continuing": [], "floor": []}
    for _ in range(args.rounds):
        for mode in figures:
            figures[mode].append(_run(mode, args.messages, args.review_worker))
    med = {k: statistics.median(v) for k, v in figures.items()}
    emit({
        "bench": "intake_instructions", "machine": machine(), "date": time.strftime("%Y-%m-%d"), "tree": _TREE,
        "messages": args.messages, "rounds": args.rounds, "review_worker": args.review_worker,
        "instructions_per_new_conversation": round(med["new"]),
        "instructions_per_continuing_message": round(med["continuing"]),
        "each_round": {k: [round(x) for x in v] for k, v in figures.items()},
        "baseline_sqlite3_two_statements": round(med["floor"]),
        "continuing_over_baseline": round(med["continuing"] / med["floor"], 1),
    })


if __name__ == "__main__":
    main()
