"""Work in a process of its own (hub.offload): answered there once it is up, in the hub while it starts (when asked
not to wait) or after it died, and a request it fails on is that request's error only."""
from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from hub.offload import Offload, WorkerFailed


def _doubler() -> object:
    """Set up in the worker: answers with the worker's pid, so a test can tell who answered."""
    def answer(n: int) -> tuple[int, int]:
        if n < 0:
            raise ValueError(f"no negative numbers: {n}")
        return 2 * n, os.getpid()
    return answer


def _slow_doubler() -> object:
    time.sleep(1.0)  # a worker that takes a while to import what it needs
    return _doubler()


def _broken_setup() -> object:
    raise RuntimeError("a model file it cannot read")


async def _local(n: int) -> tuple[int, int]:
    return 2 * n, os.getpid()


async def test_answers_come_from_the_process_and_a_failed_request_fails_alone() -> None:
    offload: Offload[int, tuple[int, int]] = Offload(_doubler, _local, name="test-doubler")
    try:
        value, pid = await offload.call(21)
        assert value == 42 and pid == offload.pid and pid != os.getpid()
        with pytest.raises(WorkerFailed, match="no negative numbers"):
            await offload.call(-1)
        assert await offload.call(5) == (10, pid)  # the same worker goes on
        assert offload.served == {"process": 2, "hub": 0}
    finally:
        offload.close()


async def test_without_waiting_for_the_start_the_hub_answers_until_the_process_is_up() -> None:
    offload: Offload[int, tuple[int, int]] = Offload(_slow_doubler, _local, name="test-slow", wait_for_start=False)
    try:
        assert await offload.call(1) == (2, os.getpid())  # the worker is still setting up
        assert offload.pid is not None and offload.served["hub"] == 1
        deadline = time.monotonic() + 30
        while (await offload.call(1))[1] == os.getpid():
            assert time.monotonic() < deadline, "the worker never took over"
            await asyncio.sleep(0.05)
        assert offload.served["process"] == 1
    finally:
        offload.close()


async def test_a_worker_that_cannot_start_or_dies_leaves_the_work_to_the_hub_for_a_while() -> None:
    broken: Offload[int, tuple[int, int]] = Offload(_broken_setup, _local, name="test-broken")
    try:
        assert await broken.call(3) == (6, os.getpid())
        assert broken.pid is None and broken._restart_at > time.monotonic() + 20  # no spawn per request
        assert await broken.call(4) == (8, os.getpid()) and broken.pid is None
    finally:
        broken.close()

    offload: Offload[int, tuple[int, int]] = Offload(_doubler, _local, name="test-dies", restart_after=0.0)
    try:
        _, pid = await offload.call(1)
        os.kill(pid, signal.SIGKILL)
        assert await offload.call(2) == (4, os.getpid())  # its socket ended: this one is done in the hub
        value, again = await offload.call(3)  # no pause asked for: a new worker
        assert value == 6 and again not in (pid, os.getpid())
    finally:
        offload.close()
