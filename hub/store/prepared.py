"""The intake's hottest statements, compiled once and run on the database driver's cursor.

On SQLite a short statement takes SQLite ~18 us and SQLAlchemy's execution around it (execution context, cache
key, parameter and result set-up) another ~90 us, measured on the chat fast path's two statements: SQLAlchemy's
part is most of what a message costs.  `Prepared` compiles a statement once per dialect, keeps the bind and result
processors of its types (the same functions SQLAlchemy would call, from the types' dialect implementations, so a
value is written and read exactly as through `Connection.execute`), and on a SQLite connection of the hub
(`hub.store.db.SyncConnection`) runs it on the driver's connection inside the same transaction; on PostgreSQL, on
the cursor of SQLAlchemy's asyncpg adapter inside `run_sync` (the same transaction, the adapter's statement cache).

Only for statements whose every parameter the caller names (`keys`): an INSERT or UPDATE is compiled for exactly
those columns, and a statement that would still need another value (a column default the execution context would
fill in) or an expanding IN list is refused when it is compiled, so nothing is silently written differently.
Errors of the driver are raised as SQLAlchemy's (`hub.store.db.as_sqlalchemy_error`), as callers expect.
`PreparedIn` serves the statements an expanding list would: one prepared statement per power-of-two length.
Imports SQLAlchemy and hub.store.db.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from hub.store.db import SyncConnection, as_sqlalchemy_error

__all__ = ["Prepared", "PreparedIn", "Rows", "bound_values"]


def bound_values(table: Any, columns: Sequence[str], prefix: str = "v_") -> dict[str, Any]:
    """`.values()` for an UPDATE of `columns`, each a parameter named `prefix + column` of the column's type (whose
    processors then write it)."""
    return {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in columns}


class Rows:
    """The part of SQLAlchemy's `Result` the hub uses on these statements, over rows already fetched."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int = -1) -> None:
        self._rows, self.rowcount = rows, rowcount

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def all(self) -> list[Any]:
        return list(self._rows)


class _Compiled:
    __slots__ = ("sql", "names", "takes", "get", "constants", "binds", "row", "results")

    def __init__(self, statement: ClauseElement, keys: frozenset[str], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
        if getattr(compiled, "positiontup", None) is None:
            raise ValueError(f"{dialect.name}: a positional paramstyle is needed")
        self.sql = str(compiled)
        if compiled.insert_prefetch or compiled.update_prefetch:  # defaults the execution context would compute
            names = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise ValueError(f"{', '.join(names)}: a value the execution would compute (a column default)")
        self.names: tuple[str, ...] = tuple(compiled.positiontup)
        processors: dict[str, Callable[[Any], Any]] = {}
        # A value written into the statement itself (`set_={"state": "pending"}`) is a bind with its value: processed
        # here, once, and put in place of the caller's value by position.
        self.constants: dict[int, Any] = {}
        for i, name in enumerate(self.names):
            bind = compiled.binds[name]
            if bind.expanding or bind.callable is not None:
                raise ValueError(f"{name}: a value the execution would compute (an expanding list)")
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name not in keys:
                if bind.required:
                    raise ValueError(f"{name}: a parameter the prepared statement is not given")
                self.constants[i] = bind.value if proc is None else proc(bind.value)
            elif proc is not None:
                processors[name] = proc
        # The caller's keys in the statement's order (a constant's place holds None until it is filled in), and a
        # tuple of (position, processor): the cheapest loops per execution.
        self.takes = tuple(n for i, n in enumerate(self.names) if i not in self.constants)
        # The caller's values in that order, as one C call (a tuple whatever the number of keys).
        self.get: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
            itemgetter(*self.takes) if len(self.takes) > 1
            else (lambda params, key=self.takes[0]: (params[key],)) if self.takes else (lambda params: ()))
        self.binds = tuple((i, processors[n]) for i, n in enumerate(self.names) if n in processors)
        columns = list(getattr(statement, "exported_columns", ()) or ())
        self.row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None  # type: ignore[misc]
        self.results = tuple(
            (i, proc) for i, c in enumerate(columns)
            if (proc := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        )

    def parameters(self, params: Mapping[str, Any]) -> list[Any]:
        values = list(self.get(params))  # KeyError for a key the caller left out
        for i, value in self.constants.items():  # in order of position, so each lands where its bind is
            values.insert(i, value)
        for i, proc in self.binds:
            values[i] = proc(values[i])
        return values

    def rows(self, fetched: Sequence[Sequence[Any]]) -> list[Any]:
        assert self.row is not None
        out = []
        for raw in fetched:
            values = list(raw)
            for i, proc in self.results:
                values[i] = proc(values[i])
            out.append(self.row(*values))
        return out


class Prepared:
    """One statement, run with `await prepared.run(conn, params)` (its `Rows`) or `await prepared.run_many(conn,
    rows)` (one executemany), on the hub's SQLite connection or an AsyncConnection of PostgreSQL."""

    def __init__(self, statement: ClauseElement, keys: Sequence[str]) -> None:
        self.statement, self.keys = statement, frozenset(keys)
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        done = self._compiled.get(dialect.name)
        if done is None:
            done = self._compiled[dialect.name] = _Compiled(self.statement, self.keys, dialect)
        return done

    async def run(self, conn: Any, params: Mapping[str, Any]) -> Rows:
        if type(conn) is SyncConnection:  # SQLite: the driver is synchronous, no need to leave the loop's thread
            return self._run(conn.sync_connection, params, False)
        return await conn.run_sync(self._run, params, False)

    async def run_many(self, conn: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once for each of `rows`, in one executemany (what RETURNING would give is not read)."""
        if type(conn) is SyncConnection:
            self._run(conn.sync_connection, rows, True)
        else:
            await conn.run_sync(self._run, rows, True)

    def _run(self, sync: Any, params: Any, many: bool) -> Rows:
        """On the DBAPI connection of SQLAlchemy's `sync` connection, inside its transaction.  On PostgreSQL this
        runs in `run_sync`'s greenlet, where SQLAlchemy's asyncpg adapter (its cursor starts the transaction and
        keeps prepared statements) answers synchronously."""
        dialect = sync.dialect
        c = self.compiled(dialect)
        values: Any = [c.parameters(r) for r in params] if many else c.parameters(params)
        cursor = sync.connection.dbapi_connection.cursor()
        try:
            if many:
                cursor.executemany(c.sql, values)
                return Rows([], cursor.rowcount)
            cursor.execute(c.sql, values)
            return Rows(c.rows(cursor.fetchall()) if c.row is not None else [], cursor.rowcount)
        except dialect.loaded_dbapi.Error as exc:
            raise as_sqlalchemy_error(exc, c.sql, values, dialect) from exc
        finally:
            cursor.close()


class PreparedIn:
    """A statement over an IN list of any length, prepared once per power-of-two length (or `limit`): `build(binds)`
    makes it from the list's bind parameters, and the values are padded to that length with the last of them, which
    an IN list does not mind.  SQLAlchemy's expanding IN cannot be prepared (its list is rendered at each execution), and
    its execution cost more than the statements it served (a review batch's ticket read, stopping SLA jobs).  A
    list longer than `limit` runs in parts: their rows are joined and their row counts added."""

    def __init__(self, build: Callable[[list[Any]], ClauseElement], keys: Sequence[str] = (), *, limit: int = 64) -> None:
        self.build, self.keys, self.limit = build, tuple(keys), limit
        self._names = [f"in_{i}" for i in range(limit)]
        self._sized: dict[int, Prepared] = {}

    def _prepared(self, size: int) -> Prepared:
        done = self._sized.get(size)
        if done is None:
            names = self._names[:size]
            done = self._sized[size] = Prepared(self.build([bindparam(n) for n in names]), (*self.keys, *names))
        return done

    async def run(self, conn: Any, values: Sequence[Any], params: Mapping[str, Any] | None = None) -> Rows:
        rows: list[Any] = []
        count = 0
        values = list(dict.fromkeys(values))  # a value repeated in two parts would be counted twice
        for start in range(0, len(values), self.limit):
            part = values[start:start + self.limit]
            size = min(1 << (len(part) - 1).bit_length(), self.limit)
            padded = [*part, *[part[-1]] * (size - len(part))]
            done = await self._prepared(size).run(conn, {**(params or {}), **dict(zip(self._names, padded))})
            rows += done.all()
            count += max(done.rowcount, 0)
        return Rows(rows, count)
