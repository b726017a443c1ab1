"""The database handle: one write discipline for SQLite and PostgreSQL, one `AsyncConnection`-shaped API.

PostgreSQL goes through asyncpg.  SQLite runs the standard library driver on the event loop itself, behind a thin
async facade: a statement on a WAL database with synchronous=NORMAL takes tens of microseconds, far less than the
four thread hand-offs per statement that an async SQLite driver pays, and the hub serialises SQLite writers anyway.

Because the driver runs on the loop, it must never wait inside SQLite: a busy handler that sleeps there would stop
every socket and request of the process while another process (the CLI, a second `hub serve`, a backup tool) holds
the write lock.  Writers therefore use connections without a busy timeout and wait for the lock with asyncio
sleeps between attempts; readers never need the write lock in WAL mode and keep only a short busy timeout for the
rare moments another connection holds the database exclusively (recovery, the first switch to WAL).
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from hub.store import facts, jsontext
from hub.store.wal import WalCheckpointer

# How long a writer waits for another process's write lock before the write fails (the old busy timeout).
WRITE_LOCK_WAIT = 30.0
# Bounds the loop's stall on a read that meets an exclusive lock; WAL readers otherwise never wait.
READ_BUSY_TIMEOUT = 0.1
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def as_sqlalchemy_error(exc: Exception, sql: str, params: Any, dialect: Any) -> DBAPIError:
    """A driver's error on a statement run on its own cursor, as SQLAlchemy would have raised it (IntegrityError,
    OperationalError...), so callers catch the same classes either way."""
    return DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error, dialect=dialect)


def is_busy(exc: BaseException) -> bool:
    """SQLite refused because another connection holds a lock (SQLITE_BUSY / SQLITE_LOCKED)."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "database is locked" in str(orig) or "database table is locked" in str(orig)


# Write lanes.  Staff work (agents' replies, claims and transfers, the scheduler, the outbox, escalations) goes
# before customer intake whenever both wait: a flood of customer messages gets backpressure, agents never queue
# behind it.  Customer messages are written in groups (hub.intake), so one turn of the lock serves many of them.
STAFF, CUSTOMERS = 0, 1


class LaneLock:
    """A lock whose waiters are served by lane: every waiting STAFF writer before any CUSTOMERS writer, first come
    first served within a lane.  The lock passes straight to the woken waiter, so a newcomer cannot overtake it."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())

    def locked(self) -> bool:
        return self._held

    async def acquire(self, lane: int = STAFF) -> None:
        if not self._held and not any(self._waiters):
            self._held = True
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[lane].append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # handed over just as the waiter was cancelled: pass it on
            else:
                try:
                    self._waiters[lane].remove(fut)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        for queue in self._waiters:
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    fut.set_result(None)  # still held: ownership moves to that waiter
                    return
        self._held = False

    @asynccontextmanager
    async def hold(self, lane: int = STAFF) -> AsyncIterator[None]:
        await self.acquire(lane)
        try:
            yield
        finally:
            self.release()


class _Nested:
    def __init__(self, cm: Any) -> None:
        self._cm = cm

    async def __aenter__(self) -> Any:
        return self._cm.__enter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return self._cm.__exit__(*exc)


class SyncConnection:
    """The subset of `AsyncConnection` the hub uses, over a synchronous SQLite connection."""

    def __init__(self, conn: Connection) -> None:
        self.sync_connection = conn

    @property
    def dialect(self) -> Any:
        return self.sync_connection.dialect

    async def execute(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        return self.sync_connection.execute(statement, parameters, **kw)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return self.sync_connection.exec_driver_sql(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self.sync_connection.scalar(statement, parameters)

    async def run_sync(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        return fn(self.sync_connection, *args, **kw)

    def begin_nested(self) -> _Nested:
        return _Nested(self.sync_connection.begin_nested())

    async def commit(self) -> None:
        self.sync_connection.commit()

    async def rollback(self) -> None:
        self.sync_connection.rollback()


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False, write_lock_wait: float = WRITE_LOCK_WAIT) -> None:
        self.url = url
        # async fn(conn, facts) run inside every write transaction that noted facts, before its commit.
        self.before_commit: list[Callable[[Any, list[facts.Fact]], Awaitable[None]]] = []
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._write_lock: LaneLock | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self._file = parsed.database if parsed.database not in (None, "", ":memory:") else None
        self.write_lock_wait = write_lock_wait
        # PostgreSQL: customer transactions may hold at most half the pool, so staff always find a connection.
        self.customer_writers = 1 if self.is_sqlite else max(1, pool_size // 2)
        self._customer_slots = asyncio.Semaphore(self.customer_writers)
        if self.is_sqlite:
            sqlite_url = parsed.set(drivername="sqlite+pysqlite")
            self.sync_engine: Engine = create_engine(
                sqlite_url, echo=echo, connect_args={"timeout": READ_BUSY_TIMEOUT, "check_same_thread": False},
                json_serializer=jsontext.dumps, json_deserializer=jsontext.loads,
            )
            self._sqlite_setup(self.sync_engine)
            # Writers fail at once on a held lock (timeout 0) and wait in `_sqlite_write` with the loop free.  One
            # connection is enough: the lock below already queues this process's writers.
            self._write_engine: Engine = create_engine(
                sqlite_url, echo=echo, pool_size=1, max_overflow=1, connect_args={"timeout": 0, "check_same_thread": False},
                json_serializer=jsontext.dumps, json_deserializer=jsontext.loads,
            )
            self._sqlite_setup(self._write_engine)

            @event.listens_for(self._write_engine, "connect")
            def _writer(dbapi_conn: Any, _record: Any) -> None:
                if self._checkpoints is not None:  # hub.store.wal checkpoints: never inside a commit on the loop
                    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")
            # One writer at a time: queueing them here keeps latency flat and never meets SQLITE_BUSY in-process.
            self._write_lock = LaneLock()
        else:
            self.engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                                              json_serializer=jsontext.dumps, json_deserializer=jsontext.loads)

    @staticmethod
    def _sqlite_setup(engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, decide when transactions begin (the documented pysqlite recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes; WAL syncs at checkpoints
            cur.execute("PRAGMA foreign_keys=ON")
            # Deleted and overwritten content is zeroed on disk, not left in free space: erased customer data must not
            # be recoverable from the file.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # On the driver's own cursor: every read and write of the hub begins here, and SQLAlchemy's execution
            # of one BEGIN (`exec_driver_sql`, as in the recipe) cost several times the statement.  Its errors are
            # raised as SQLAlchemy's, as they were (a busy database is an OperationalError that callers retry).
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(f"BEGIN {mode}")
            except conn.dialect.loaded_dbapi.Error as exc:
                raise as_sqlalchemy_error(exc, f"BEGIN {mode}", (), conn.dialect) from exc
            finally:
                cursor.close()

    @contextmanager
    def _sqlite(self, mode: str) -> Iterator[SyncConnection]:
        with self.sync_engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin=mode)
            with conn.begin():
                yield SyncConnection(conn)

    async def _begin_write(self, *, foreign_keys: bool = True) -> tuple[Connection, Any]:
        """BEGIN IMMEDIATE without ever blocking the loop: on a lock held by another process, sleep and retry until
        `write_lock_wait` has passed (then the busy error propagates, as the busy timeout's did)."""
        delay, waited = 0.002, 0.0
        while True:
            conn: Connection | None = None
            try:
                # Connecting may meet the lock too (the first switch to WAL), so it is inside the retry.
                conn = self._write_engine.connect().execution_options(sqlite_begin="IMMEDIATE")
                if not foreign_keys:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
                return conn, conn.begin()
            except OperationalError as exc:
                if conn is not None:
                    if not foreign_keys:  # pooled connections always have them on
                        conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
                    conn.close()
                if not is_busy(exc) or waited + delay > self.write_lock_wait:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.05)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        if self.is_sqlite:
            with self._sqlite("DEFERRED") as conn:
                yield conn
            return
        async with self.engine.connect() as aconn:
            yield aconn

    @asynccontextmanager
    async def write(self, lane: int = STAFF) -> AsyncIterator[Any]:
        """One transaction that commits on success and rolls back on error.  `lane=CUSTOMERS` for customer intake,
        which waits behind every staff writer.  The `before_commit` hooks see the facts the transaction noted
        (hub.store.facts) and write in it, just before it commits."""
        async with self._transaction(lane) as conn:
            if not self.before_commit:
                yield conn
                return
            noted, token = facts.begin()
            try:
                yield conn
            finally:
                facts.end(token)
            if noted:
                for hook in self.before_commit:
                    await hook(conn, noted)

    @asynccontextmanager
    async def _transaction(self, lane: int) -> AsyncIterator[Any]:
        if self._write_lock is None:
            if lane == CUSTOMERS:
                async with self._customer_slots, self.engine.begin() as aconn:
                    yield aconn
                return
            async with self.engine.begin() as aconn:
                yield aconn
            return
        async with self._write_lock.hold(lane):
            conn, tx = await self._begin_write()
            with conn, tx:
                yield SyncConnection(conn)

    async def run_sync(self, fn: Callable[[Connection], Any], *, foreign_keys: bool = True) -> Any:
        """Run `fn(sync_connection)` in one transaction (migrations, schema comparison).

        `foreign_keys=False` (SQLite, migrations): SQLite alters a table by copying it and dropping the original, and
        with foreign keys on, that drop would run the ON DELETE actions of every referencing row (SET NULL, CASCADE).
        The pragma only takes effect outside a transaction, so it is set before BEGIN; the references are checked
        before the commit instead."""
        if self.is_sqlite and not foreign_keys:
            assert self._write_lock is not None
            async with self._write_lock.hold():
                conn, tx = await self._begin_write(foreign_keys=False)
                try:
                    with tx:
                        result = fn(conn)
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                        if broken is not None:
                            raise RuntimeError(f"a migration broke a foreign key: {tuple(broken)}")
                    return result
                finally:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
                    conn.close()
        if self.is_sqlite:
            async with self.write() as conn:
                return fn(conn.sync_connection)
        async with self.engine.begin() as aconn:
            return await aconn.run_sync(fn)

    async def ping(self) -> bool:
        try:
            async with self.read() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def checkpoint_in_background(self) -> WalCheckpointer | None:
        """SQLite in a file: from now on its log is checkpointed off the loop (hub.store.wal), not inside the
        commits of this process's writer.  A long-running process (`hub serve`) calls this once it has migrated;
        short commands keep SQLite's automatic checkpoints.  Stopped by `close`."""
        if not self.is_sqlite or self._file is None or self._checkpoints is not None:
            return None
        assert self._write_lock is not None
        lock = self._write_lock
        checkpointer = WalCheckpointer(self._file, lambda: lock.hold(CUSTOMERS))
        self._checkpoints = asyncio.create_task(checkpointer.run(), name="sqlite-checkpoints")
        self._write_engine.dispose()  # the pooled writer reconnects with automatic checkpoints off
        return checkpointer

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            await asyncio.gather(self._checkpoints, return_exceptions=True)
            self._checkpoints = None
        if self.is_sqlite:
            self.sync_engine.dispose()
            self._write_engine.dispose()
        else:
            await self.engine.dispose()

