"""CPU-bound work in a process of its own, beside the event loop: the language review's classifier
(hub.classifier_pool) and the parsing of a mailbox's backlog (channels.email).

In the hub's process such work holds the GIL that the event loop needs, so every batch of it delays
acknowledgements and agents' requests; in a worker process it runs on another core.  The worker is spawned with a
picklable `setup` callable, which it calls once to get the function that answers each request (a router built from
the config, a mail parser with the channel's settings).

The hub talks to it over one socket pair, read and written by the event loop itself: a request is pickled, its
answer comes back pickled, one at a time.  (A ProcessPoolExecutor cost the hub ~270 us of CPU a batch in its
manager and feeder threads, which also woke to take the GIL from the loop; the socket costs ~70 us.)  If the worker
dies, the request is served by `local` in the hub instead, and so is every request for the next `restart_after`
seconds (a worker that cannot start, say a model file it cannot read, must not cost a process spawn per request);
then a new worker starts.  If the hub dies, the worker reads the end of its socket and ends too.

Imports the standard library only; nothing here needs a running event loop until the first call.
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
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

__all__ = ["Offload", "RESTART_AFTER", "WorkerFailed"]

log = logging.getLogger("hub.offload")

Req = TypeVar("Req")
Ans = TypeVar("Ans")

RESTART_AFTER = 30.0  # seconds of serving requests in the hub after a worker process ended

# multiprocessing.Connection's framing, which the worker's send_bytes/recv_bytes speak: a signed 32-bit length,
# or -1 and then a 64-bit one for a message of 2 GiB or more.
_LEN, _BIG = struct.Struct("!i"), struct.Struct("!Q")


def _serve(conn: Connection, setup: Callable[[], Callable[[Any], Any]]) -> None:
    """The worker: answer requests until the hub closes its end (or dies: the kernel closes it then)."""
    # Ctrl+C in a terminal reaches the whole process group: the hub closes the socket, and the worker must not
    # die mid-request with a traceback on the operator's screen (it starts with SIGINT ignored already, see
    # `_sigint_ignored`; this keeps it so whatever started it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answer_one = setup()
    try:
        conn.send_bytes(pickle.dumps((True, None)))  # ready: the hub may send requests without waiting on a start
    except OSError:
        return
    while True:
        try:
            request = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            answer: tuple[bool, Any] = (True, answer_one(request))
        except Exception as exc:  # the hub raises it for this request; the worker goes on
            answer = (False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send_bytes(pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
        except OSError:
            return


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


class WorkerFailed(RuntimeError):
    """The worker raised on a request (it goes on serving the next ones)."""


class _Worker:
    """One worker process and the hub's end of its socket."""

    def __init__(self, setup: Callable[[], Callable[[Any], Any]], name: str) -> None:
        # spawn, not fork: a fork of a running event loop with its sockets and threads is not safe.
        ctx = multiprocessing.get_context("spawn")
        self._conn, theirs = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_serve, args=(theirs, setup), name=name, daemon=True)
        with _sigint_ignored():
            self.process.start()
        theirs.close()
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._turn = asyncio.Lock()  # one request written at a time, whole
        # Requests written and not yet answered, oldest first: the worker answers in order, so the next answer
        # is always the oldest one's.  A caller may write its request while earlier ones are still worked on (a
        # mailbox's next batch while the worker parses this one): the worker never waits for the hub's loop to
        # read an answer before it has its next request.
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._reader: asyncio.Task[None] | None = None
        self.ready = False  # the worker has set itself up and said so

    async def greet(self) -> None:
        """Wait until the worker is set up (it says so once, before its first answer)."""
        async with self._turn:
            await self._greeted()

    async def _greeted(self) -> None:
        if self.ready:
            return
        if self._stream is None:
            sock = socket.socket(fileno=os.dup(self._conn.fileno()))
            self._stream = await asyncio.open_unix_connection(sock=sock)
        await self._answer()
        self.ready = True
        self._reader = asyncio.create_task(self._read_answers(), name="offload-answers")

    async def _answer(self) -> tuple[bool, Any]:
        """The next (ok, value) the worker sent: its answer, or what it failed on."""
        assert self._stream is not None
        reader = self._stream[0]
        (n,) = _LEN.unpack(await reader.readexactly(_LEN.size))
        if n == -1:
            (n,) = _BIG.unpack(await reader.readexactly(_BIG.size))
        return pickle.loads(await reader.readexactly(n))  # type: ignore[no-any-return]

    async def _read_answers(self) -> None:
        """Hand each answer to the oldest request waiting; when the socket fails, every waiting request fails."""
        try:
            while True:
                ok, value = await self._answer()
                if not self._waiting:
                    raise ConnectionError("an answer from the worker that no request asked for")
                fut = self._waiting.popleft()
                if fut.done():  # its caller was cancelled: the answer is read all the same, so the order holds
                    continue
                if ok:
                    fut.set_result(value)
                else:
                    fut.set_exception(WorkerFailed(value))
        except asyncio.CancelledError:
            self._fail(ConnectionAbortedError("the worker's socket was closed"))
            raise
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        while self._waiting:
            fut = self._waiting.popleft()
            if not fut.done():
                fut.set_exception(exc)

    async def call(self, request: Any) -> Any:
        async with self._turn:
            await self._greeted()
            assert self._stream is not None
            if self._reader is None or self._reader.done():
                raise ConnectionError("the worker's socket failed")
            writer = self._stream[1]
            data = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
            head = _LEN.pack(-1) + _BIG.pack(len(data)) if len(data) > 0x7FFFFFFF else _LEN.pack(len(data))
            answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiting.append(answer)
            writer.write(head + data)
            await writer.drain()
        return await answer

    def close(self) -> None:
        """Close the hub's end: the worker reads EOF and ends, after the request it may be working on."""
        if self._reader is not None:
            self._reader.cancel()
        self._fail(ConnectionAbortedError("the worker was closed"))
        if self._stream is not None:
            self._stream[1].close()
        self._conn.close()


class Offload(Generic[Req, Ans]):
    """Requests served by a worker process, started at the first request; by `local` in the hub while there is none
    (for `restart_after` seconds after one ended).  With `wait_for_start` false, requests are served by `local`
    while the worker is still starting too: a spawned interpreter takes a second or more to import what it needs,
    which a batch that is as quick to do in the hub should not wait for."""

    def __init__(self, setup: Callable[[], Callable[[Req], Ans]], local: Callable[[Req], Awaitable[Ans]], *,
                 name: str, restart_after: float = RESTART_AFTER, wait_for_start: bool = True) -> None:
        self.setup, self.local, self.name, self.restart_after = setup, local, name, restart_after
        self.wait_for_start = wait_for_start
        self._worker: _Worker | None = None
        self._starting: asyncio.Task[None] | None = None
        self._restart_at = 0.0  # time.monotonic() before which requests stay in the hub (the worker ended)
        self.served = {"process": 0, "hub": 0}  # requests answered by each, for logs and tests

    @property
    def pid(self) -> int | None:
        """The worker process's id, once started."""
        return self._worker.process.pid if self._worker is not None else None

    async def call(self, request: Req) -> Ans:
        if self._worker is None and time.monotonic() < self._restart_at:
            return await self._here(request)
        if self._worker is None:
            self._worker = _Worker(self.setup, self.name)
            if not self.wait_for_start:
                self._starting = asyncio.create_task(self._worker.greet(), name=f"{self.name}-start")
        starting = self._starting
        if starting is not None:
            if not starting.done():
                return await self._here(request)
            self._starting = None
            if starting.exception() is not None:
                return await self._ended(request)
        try:
            answer = await self._worker.call(request)
            self.served["process"] += 1
            return answer
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return await self._ended(request)
        except asyncio.CancelledError:
            # A request's answer is read whether its caller waits or not, so the next caller still gets its own;
            # a greeting cut short, though, would leave the socket mid-message.
            if self._worker is not None and not self._worker.ready:
                self.close()
            raise

    async def _ended(self, request: Req) -> Ans:
        log.warning("the %s process ended (exit code %s); its work is done in the hub for %g s, then a new one starts",
                    self.name, self._worker.process.exitcode if self._worker else None, self.restart_after)
        self.close()
        self._restart_at = time.monotonic() + self.restart_after
        return await self._here(request)

    async def _here(self, request: Req) -> Ans:
        answer = await self.local(request)
        self.served["hub"] += 1
        return answer

    def close(self) -> None:
        worker, self._worker = self._worker, None
        starting, self._starting = self._starting, None
        if starting is not None:
            starting.cancel()
        if worker is not None:
            worker.close()
