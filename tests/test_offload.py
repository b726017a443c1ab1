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


def _timed_doubler() -> object:
    """Answers (2n, when the worker began on it, its pid): a request of n >= 100 takes 0.3 s."""
    def answer(n: int) -> tuple[int, float, int]:
        began = time.monotonic()
        if n >= 100:
            time.sleep(0.3)
        return 2 * n, began, os.getpid()
    return answer


async def test_requests_queue_at_the_worker_and_each_caller_gets_its_own_answer() -> None:
    """A second request is written while the first is worked on, so the worker starts on it without waiting for
    the hub's loop to read the first answer (the loop may be busy storing); answers come back in order to their own
    callers, and a caller that gives up does not shift the answers of those after it nor cost the worker."""
    offload: Offload[int, tuple[int, float, int]] = Offload(_timed_doubler, _local, name="test-queue")  # type: ignore[arg-type]
    try:
        _, _, pid = await offload.call(0)  # started and greeted
        first = asyncio.ensure_future(offload.call(100))
        second = asyncio.ensure_future(offload.call(7))
        await asyncio.sleep(0.05)  # both written; the worker is on the first
        time.sleep(1.0)  # the loop is busy (storing, say) while the first answer arrives
        free = time.monotonic()
        (v1, _, _), (v2, began2, _) = await asyncio.gather(first, second)
        assert (v1, v2) == (200, 14)
        assert began2 < free  # begun when the first was done, not once the loop had read the first answer

        given_up = asyncio.ensure_future(offload.call(150))
        await asyncio.sleep(0.05)
        given_up.cancel()
        value, _, again = await offload.call(4)
        assert value == 8 and again == pid  # its own answer (not the cancelled request's 300), from the same worker
        assert (await offload.call(5))[0] == 10
        assert offload.served["hub"] == 0
    finally:
        offload.close()
