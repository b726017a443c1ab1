"""The language review's classifier in a process of its own (`review.worker: process`), or in a thread of the hub.

In the hub's process the classifier's Python work holds the GIL that the event loop needs, so every batch it
classifies delays acknowledgements and agents' requests; in a worker process (hub.offload) it runs beside the loop on
another core.  The worker builds its own router from the same config (models, lexicons, the encoder and its CPU
budget) and is started by the escalator's warm-up right after start-up (or the first batch).  While it is not
there (it died: for RESTART_AFTER seconds, then a new one starts), batches are classified in a thread of the hub.

Imports: hub.config, hub.offload, hub.ports, hub.registry (in the worker); nothing that needs the event loop.
"""
from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from hub.config import Config
from hub.offload import RESTART_AFTER, Offload
from hub.ports import RouteRequest, RouteResult

__all__ = ["ClassifierPool", "route_all", "RESTART_AFTER"]

Batch = tuple[list[RouteRequest], bool, "float | None"]


def _router_in_worker(config: Config) -> Any:
    """Run in the worker: its own router, and the function that answers one batch."""
    from hub import registry

    router = registry.build_router(config)
    return functools.partial(_route_batch, router)


def _route_batch(router: Any, batch: Batch) -> list[RouteResult]:
    reqs, lexical, deadline = batch
    return route_all(router, reqs, lexical, deadline)


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


class ClassifierPool:
    def __init__(self, config: Config, router: Any) -> None:
        self.config, self.router = config, router
        self._offload: Offload[Batch, list[RouteResult]] = Offload(
            functools.partial(_router_in_worker, config), self._in_thread, name="hub-classifier",
            restart_after=RESTART_AFTER)

    async def _in_thread(self, batch: Batch) -> list[RouteResult]:
        return await asyncio.to_thread(_route_batch, self.router, batch)

    @property
    def pid(self) -> int | None:
        """The worker process's id, once started."""
        return self._offload.pid

    async def route(self, reqs: list[RouteRequest], lexical: bool,
                    deadline: float | None = None) -> list[RouteResult]:
        if self.config.review.worker == "thread":
            return await self._in_thread((reqs, lexical, deadline))
        return await self._offload.call((reqs, lexical, deadline))

    def close(self) -> None:
        self._offload.close()
