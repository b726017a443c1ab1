"""The knowledge base kept current in the running hub: faq.yaml is checked every `bot.reload_interval` and a new
version swapped in once its index is built, off the event loop; the meaning-based index of the first version is
built after start-up, while the lexical one answers."""
from __future__ import annotations

import asyncio
import logging
import threading

from bots.kb import KnowledgeBaseHolder
from bots.matcher import Matcher
from hub.periodic import cancel_and_wait
from nlp import smalltalk
from nlp.cache import Stopped

log = logging.getLogger("hub.assistant")


class KnowledgeBaseReloader:
    """A hub worker: checks the knowledge base file every `interval` seconds and swaps in a new version."""

    def __init__(self, holder: KnowledgeBaseHolder[Matcher], interval: float) -> None:
        self.holder, self.interval = holder, max(interval, 0.01)
        self._task: asyncio.Task[None] | None = None
        self.semantic_ready = asyncio.Event()
        # Set on stop: a build thread, the first one or a reload's, gives up between chunks (a thread cannot be
        # cancelled, and the process cannot exit before its threads end).
        self.stopping = threading.Event()

    async def start(self) -> None:
        if self._task is None:
            self.stopping.clear()
            self._task = asyncio.create_task(self._run(), name="kb-reload")

    async def _warm(self) -> None:
        # The meaning-based index takes seconds the first time (embedding every example): build it off the event
        # loop after start-up, answering with the lexical index meanwhile.  Later versions are built before the swap.
        try:
            await asyncio.to_thread(self.holder.index.ensure_semantic, self.stopping)
            await asyncio.to_thread(smalltalk.prepare, self.holder.index.encoder)
        except Exception:
            log.exception("semantic index not built")
        self.semantic_ready.set()

    @property
    def state(self) -> str:
        """"ready" once the meaning-based index is built (or there is none to build), else "warming"."""
        return "ready" if self.semantic_ready.is_set() or self._task is None else "warming"

    async def until_ready(self, timeout: float) -> None:
        """Wait, at most `timeout` seconds, for the warm-up started by `start` (at once if it never started)."""
        if self.state == "warming":
            try:
                await asyncio.wait_for(self.semantic_ready.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    async def stop(self) -> None:
        self.stopping.set()
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def reload(self, force: bool = False) -> bool:
        # Building the index of a large knowledge base takes a while: keep it off the event loop.
        try:
            return await asyncio.to_thread(self.holder.reload, force)
        except Stopped:  # the hub is stopping: the version in use stays, and the next start builds the new one
            log.info("knowledge base reload stopped: the hub is stopping")
            return False

    async def _run(self) -> None:
        await self._warm()
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.reload()
            except Exception:  # a bug in building must not end the reloading for good
                log.exception("knowledge base reload failed")
