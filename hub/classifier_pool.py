"""The language review's classifier in a process of its own (`review.worker: process`).

In the hub's process the classifier's Python work holds the GIL that the event loop needs, so every batch it
classifies delays acknowledgements and agents' requests; in a worker process it runs beside the loop on another
core.  The worker builds its own router from the same config (models, lexicons, the encoder and its CPU budget)
and is started by the escalator's warm-up right after start-up (or the first batch).

The hub talks to it over one socket pair, read and written by the event loop itself: a batch is a pickled request
and a pickled answer, one at a time.  (A ProcessPoolExecutor cost the hub ~270 us of CPU a batch in its manager and
feeder threads, which also woke to take the GIL from the loop; the socket costs ~70 us.)  If the worker dies, the
batch is classified in a thread of the hub instead, and so is every batch for the next RESTART_AFTER seconds (a
worker that cannot start, say a model file it cannot read, must not cost a process spawn per batch); then a new
worker starts.  If the hub dies, the worker reads the end of its socket and ends too.

Imports: hub.config, hub.ports, hub.registry (in the worker); nothing that needs the event loop.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from hub.config import Config
from hub.ports import RouteRequest, RouteResult

log = logging.getLogger("hub.classifier")

RESTART_AFTER = 30.0  # seconds of classifying in the hub after the worker process ended

# multiprocessing.Connection's framing, which the worker's send_bytes/recv_bytes speak: a signed 32-bit length,
# or -1 and then a 64-bit one for a message of 2 GiB or more.
_LEN, _BIG = struct.Struct("!i"), struct.Struct("!Q")


def _serve(conn: Connection, config: Config) -> None:
    """The worker: answer batches until the hub closes its end (or dies: the kernel closes it then)."""
    # Ctrl+C in a terminal reaches the whole process group: the hub closes the socket, and the worker must not
    # die mid-batch with a traceback on the operator's screen (it starts with SIGINT ignored already, see
    # `_sigint_ignored`; this keeps it so whatever started it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from hub import registry

    router = registry.build_router(config)
    while True:
        try:
            reqs, lexical, deadline = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            answer: tuple[bool, Any] = (True, route_all(router, reqs, lexical, deadline))
        except Exception as exc:  # the hub logs it as a failed review; the worker goes on
            answer = (False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send_bytes(pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
        except OSError:
            return


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


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Start the worker with SIGINT ignored from its first instruction: an ignored signal survives exec, and Ctrl+C
    in a terminal reaches the whole process group, also a worker still importing its modules (which printed a
    KeyboardInterrupt traceback on the operator's screen).  The hub's own handler is back right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Worker:
    """One classifier process and the hub's end of its socket."""

    def __init__(self, config: Config) -> None:
        # spawn, not fork: a fork of a running event loop with its sockets and threads is not safe.
        ctx = multiprocessing.get_context("spawn")
        self._conn, theirs = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_serve, args=(theirs, config), name="hub-classifier", daemon=True)
        with _sigint_ignored():
            self.process.start()
        theirs.close()
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._turn = asyncio.Lock()  # one batch on the socket at a time: answers come back in order

    async def call(self, reqs: list[RouteRequest], lexical: bool, deadline: float | None) -> list[RouteResult]:
        async with self._turn:
            if self._stream is None:
                sock = socket.socket(fileno=os.dup(self._conn.fileno()))
                self._stream = await asyncio.open_unix_connection(sock=sock)
            reader, writer = self._stream
            data = pickle.dumps((reqs, lexical, deadline), pickle.HIGHEST_PROTOCOL)
            head = _LEN.pack(-1) + _BIG.pack(len(data)) if len(data) > 0x7FFFFFFF else _LEN.pack(len(data))
            writer.write(head + data)
            await writer.drain()
            (n,) = _LEN.unpack(await reader.readexactly(_LEN.size))
            if n == -1:
                (n,) = _BIG.unpack(await reader.readexactly(_BIG.size))
            ok, value = pickle.loads(await reader.readexactly(n))
        if not ok:
            raise RuntimeError(f"the classifier process failed on a batch: {value}")
        return value

    def close(self) -> None:
        """Close the hub's end: the worker reads EOF and ends, after the batch it may be working on."""
        if self._stream is not None:
            self._stream[1].close()
        self._conn.close()


class ClassifierPool:
    def __init__(self, config: Config, router: Any) -> None:
        self.config, self.router = config, router
        self._worker: _Worker | None = None
        self._restart_at = 0.0  # time.monotonic() before which batches stay in the hub (the worker ended)

    @property
    def pid(self) -> int | None:
        """The worker process's id, once started."""
        return self._worker.process.pid if self._worker is not None else None

    async def route(self, reqs: list[RouteRequest], lexical: bool,
                    deadline: float | None = None) -> list[RouteResult]:
        if self.config.review.worker == "thread" or (self._worker is None and time.monotonic() < self._restart_at):
            return await asyncio.to_thread(route_all, self.router, reqs, lexical, deadline)
        if self._worker is None:
            self._worker = _Worker(self.config)
        try:
            return await self._worker.call(reqs, lexical, deadline)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            log.warning("the classifier process ended (exit code %s); batches are classified in the hub for %g s, "
                        "then a new one starts", self._worker.process.exitcode if self._worker else None, RESTART_AFTER)
            self.close()
            self._restart_at = time.monotonic() + RESTART_AFTER
            return await asyncio.to_thread(route_all, self.router, reqs, lexical, deadline)
        except asyncio.CancelledError:
            self.close()  # an answer left unread would be taken for the next batch's
            raise

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()
