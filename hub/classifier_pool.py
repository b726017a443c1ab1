"""The language review's classifier in a process of its own (`review.worker: process`).

In the hub's process the classifier's Python work holds the GIL that the event loop needs, so every batch it
classifies delays acknowledgements and agents' requests; in a worker process it runs beside the loop on another
core.  The worker builds its own router from the same config (models, lexicons, the encoder and its CPU budget)
and is started by the escalator's warm-up right after start-up (or the first batch).  If the worker dies, the
batch is classified in a thread of the hub instead and the next batch starts a new worker; if the hub dies, the
worker notices within a second and ends too.

Imports: hub.config, hub.ports, hub.registry (in the worker); nothing that needs the event loop.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from hub.config import Config
from hub.ports import RouteRequest, RouteResult

log = logging.getLogger("hub.classifier")

_router: Any = None  # in the worker process


def _start(config: Config, parent: int) -> None:
    global _router
    from hub import registry

    # Ctrl+C in a terminal reaches the whole process group: the hub shuts its pool down, and the worker must not
    # die mid-batch with a traceback on the operator's screen.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch(parent)
    _router = registry.build_router(config)


def _watch(parent: int) -> None:
    """End this worker when the hub that started it is gone: a hub killed outright (SIGKILL, OOM) never tells its
    pool to shut down, and the worker would wait for batches for ever, holding its memory."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="hub-watch", daemon=True).start()


def route_all(router: Any, reqs: list[RouteRequest], lexical: bool,
              deadline: float | None = None) -> list[RouteResult]:
    """Classify a batch: one encoder call for all of it (each message then finds its vector cached), or the
    lexical variant alone when asked (a backlog), when the encoder has used its share of the CPU, or when
    embedding the batch would not end before `deadline` (time.monotonic(), the same clock in every process)."""
    from nlp.encoder import load_encoder

    encoder = load_encoder()
    texts = [r.text for r in reqs]
    if not lexical and encoder is not None:
        busy = getattr(encoder, "busy", None)
        lexical = bool(busy is not None and busy(texts))
        estimate = getattr(encoder, "estimate", None)
        if not lexical and deadline is not None and estimate is not None:
            lexical = time.monotonic() + estimate(texts) > deadline
    if not lexical and encoder is not None and len(reqs) > 1:
        encoder.embed(texts)
    out = []
    for r in reqs:
        if lexical and r.detector is None:
            r = RouteRequest(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "detector": "model:lexical"})
        out.append(router.route(r))
    return out


def _route_in_worker(reqs: list[RouteRequest], lexical: bool, deadline: float | None) -> list[RouteResult]:
    return route_all(_router, reqs, lexical, deadline)


class ClassifierPool:
    def __init__(self, config: Config, router: Any) -> None:
        self.config, self.router = config, router
        self._pool: ProcessPoolExecutor | None = None

    async def route(self, reqs: list[RouteRequest], lexical: bool,
                    deadline: float | None = None) -> list[RouteResult]:
        if self.config.review.worker == "thread":
            return await asyncio.to_thread(route_all, self.router, reqs, lexical, deadline)
        if self._pool is None:
            # spawn, not fork: a fork of a running event loop with its sockets and threads is not safe.
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start, initargs=(self.config, os.getpid()))
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, _route_in_worker, reqs, lexical,
                                                                    deadline)
        except BrokenProcessPool:
            log.warning("the classifier process ended; this batch is classified in the hub, the next starts a new one")
            self.close()
            return await asyncio.to_thread(route_all, self.router, reqs, lexical, deadline)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
