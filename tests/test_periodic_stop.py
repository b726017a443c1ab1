"""Stopping background work for certain: a task that loses its cancellation must still end.

On Python 3.11, `asyncio.wait_for` returns the result instead of raising when the cancellation and the result arrive
in the same turn of the loop, so the task goes on.  aioimaplib wraps every IMAP command in it; a mailbox that lost
its cancellation went back into IDLE for a thousand seconds while the hub was stopping.
"""
from __future__ import annotations

import asyncio

import pytest

from hub.periodic import cancel_and_wait


async def _forever_after(first: asyncio.Future[int], steps: list[str]) -> None:
    got = await asyncio.wait_for(first, 30)
    steps.append(f"answer {got}")
    await asyncio.sleep(3600)  # an IDLE wait, say


async def test_a_cancellation_lost_in_wait_for_is_repeated() -> None:
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[int] = loop.create_future()
    steps: list[str] = []
    task = asyncio.create_task(_forever_after(answer, steps))
    await asyncio.sleep(0)  # the task is now inside wait_for
    answer.set_result(7)  # the server's answer and the stop arrive in the same turn
    await asyncio.wait_for(cancel_and_wait(task, again_after=0.05), 10)
    assert task.done() and task.cancelled()


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again() -> None:
    steps: list[str] = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            steps.append("swallowed")
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task, again_after=0.05), 10)
    assert steps == ["swallowed"] and task.cancelled()


async def test_clean_up_on_cancellation_is_given_time_and_failures_are_collected() -> None:
    cleaned: list[str] = []

    async def with_cleanup() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)  # a LOGOUT, a last commit
            cleaned.append("done")

    async def failing() -> None:
        raise RuntimeError("broke earlier")

    broken = asyncio.create_task(failing())
    await asyncio.sleep(0)
    task = asyncio.create_task(with_cleanup())
    await asyncio.sleep(0)
    await cancel_and_wait(task, None, broken)
    assert cleaned == ["done"] and task.cancelled() and isinstance(broken.exception(), RuntimeError)


async def test_the_caller_cancelled_while_waiting_passes_the_cancellation_on() -> None:
    swallowed: list[int] = []

    async def swallows_once() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.append(1)
        await asyncio.sleep(3600)

    task = asyncio.create_task(swallows_once())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cancel_and_wait(task, again_after=3600))
    await asyncio.sleep(0.01)
    assert swallowed == [1] and not task.done()
    waiter.cancel()  # the stop itself is cut short (the hub's bounded shutdown step)
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)
    assert task.cancelled()
