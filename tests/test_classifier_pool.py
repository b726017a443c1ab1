"""The classifier's own process (review.worker: process) ends with the hub that started it, even when the hub is
killed outright and never shuts its pool down."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HUB = textwrap.dedent("""
    import asyncio, sys
    from datetime import datetime, timezone
    from hub.config import from_mapping
    from hub.classifier_pool import ClassifierPool
    from hub.ports import RouteRequest
    from hub import registry

    async def main():
        config = from_mapping({"review": {"worker": "process"}, "routing": {"complaint": {"detector": "lexicon"}}})
        pool = ClassifierPool(config, registry.build_router(config))
        req = RouteRequest(text="my order never arrived", channel="webchat", now=datetime.now(timezone.utc))
        await pool.route([req], True)
        print(pool.pid, flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie left for its (dead) parent's reaper counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_worker_ends_when_its_hub_is_killed() -> None:
    hub = subprocess.Popen([sys.executable, "-c", HUB], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                           env=dict(os.environ, HUB_NLP_ENCODER="none"))
    try:
        line = hub.stdout.readline() if hub.stdout else ""
        assert line.strip().isdigit(), line
        worker = int(line)
        assert _alive(worker)
        hub.send_signal(signal.SIGKILL)
        hub.wait(10)
        deadline = time.monotonic() + 15
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker), "the classifier process outlived its hub"
    finally:
        hub.kill()
        hub.wait(10)


async def test_a_worker_that_dies_leaves_batches_to_the_hub_for_a_while_then_a_new_one_starts() -> None:
    from datetime import datetime, timezone

    from hub import classifier_pool, registry
    from hub.classifier_pool import ClassifierPool
    from hub.config import from_mapping
    from hub.ports import RouteRequest

    config = from_mapping({"review": {"worker": "process"}, "routing": {"complaint": {"detector": "lexicon"}}})
    pool = ClassifierPool(config, registry.build_router(config))
    reqs = [RouteRequest(text=t, channel="webchat", now=datetime.now(timezone.utc))
            for t in ("my order never arrived and nobody answers, this is unacceptable",
                      "what are your opening hours?")]
    try:
        first = await pool.route(reqs, True)
        pid = pool.pid
        assert pid is not None and _alive(pid)
        os.kill(pid, signal.SIGKILL)
        again = await pool.route(reqs, True)  # the dead worker's socket ends: this batch is classified in the hub
        assert [r.kind for r in again] == [r.kind for r in first] and pool.pid is None
        await pool.route(reqs, True)
        assert pool.pid is None  # no new process at once: one that cannot start would be spawned for every batch
        assert pool._offload._restart_at >= time.monotonic() + classifier_pool.RESTART_AFTER - 5
        pool._offload._restart_at = time.monotonic()  # the pause is over
        third = await pool.route(reqs, True)
        assert [r.kind for r in third] == [r.kind for r in first] and pool.pid not in (None, pid)
    finally:
        pool.close()
