"""Hot-path statements run straight on the DBAPI cursor, inside the session's transaction.

Why: on the webhook ingest path each message takes a few small statements, and SQLAlchemy's
per-execution machinery (execution context, parameter processing through several layers,
result-proxy set-up) costs several times what SQLite itself spends on them. A ``FastStatement``
is an ordinary Core statement, compiled once per dialect by SQLAlchemy (so the SQL, its
parameter style and any casts are SQLAlchemy's own); what is skipped is only the per-call
overhead. Values still go through the column types' own bind and result processors, so what is
stored and read back is exactly what the ORM would store and read.

Anything this cannot do exactly as SQLAlchemy would (a column default computed in Python
that is not a plain value or function, a statement that does not compile) makes the statement
fall back to ``Connection.execute``: slower, never different.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import BindParameter, Connection, DateTime, Executable, Select, Table, bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

log = logging.getLogger(__name__)
Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Prepared:
    sql: str
    positional: bool
    # (parameter name as rendered, caller's key or None for a fixed value, fixed value, processor)
    binds: tuple[tuple[str, str | None, Any, Processor], ...]
    # column defaults computed in Python for each row (``default=list``...), by parameter position
    defaults: tuple[tuple[int, Callable[[Any], Any]], ...]
    results: tuple[Processor, ...]
    # The rows come back as one JSON array in one row (see FastStatement's ``one_row``).
    aggregated: bool = False
    # Derived from ``binds`` (see _dbapi_params): where each value comes from, and the conversions.
    sources: tuple[tuple[str | None, Any], ...] = ()
    converters: tuple[tuple[int, Callable[[Any], Any], Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple((key, fixed) for _n, key, fixed, _p in self.binds))
        object.__setattr__(self, "converters", tuple(
            (index, proc, _converted_none(proc)) for index, (_n, _k, _f, proc) in enumerate(self.binds)
            if proc is not None))


class FastStatement:
    """A Core statement executed on the raw DBAPI cursor of a SQLAlchemy ``Connection``.

    ``keys``: the parameter names every call passes (for an INSERT, the columns it sets);
    every call must pass all of them.

    ``one_row``: on SQLite, a SELECT of many rows is run as one that returns them all in one
    row, as a JSON array (``json_group_array``), then converted by the same result processors.
    Why: Python's sqlite3 module releases the GIL around every row it steps to, and the group-
    commit writer then waits for the event loop to hand the GIL back, row after row. Only for
    statements whose columns are integers, text (dates are text on SQLite) or booleans, whose
    JSON form converts back exactly; row order is not kept.
    """

    def __init__(self, statement: ClauseElement, keys: Sequence[str] | None = None, *, one_row: bool = False) -> None:
        self.statement = statement
        self.keys = tuple(keys) if keys is not None else None
        self.one_row = one_row
        self._prepared: dict[str, _Prepared | None] = {}

    def _prepared_for(self, conn: Connection) -> _Prepared | None:
        dialect = conn.dialect
        prepared = self._prepared.get(dialect.name, _MISSING)
        if prepared is _MISSING:
            prepared = _prepare(self.statement, self.keys, dialect)
            if self.one_row and dialect.name == "sqlite" and prepared is not None:
                prepared = _aggregated(self.statement, prepared, self.keys, dialect)
            self._prepared[dialect.name] = prepared
        return cast(_Prepared | None, prepared)

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute; the result rows (with the columns' result processing applied)."""
        prepared = self._prepared_for(conn)
        if prepared is None:
            return [tuple(r) for r in conn.execute(cast(Executable, self.statement), dict(params))]
        dbapi_params = _dbapi_params(prepared, params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(prepared.sql, dbapi_params)
            if not prepared.results:
                return []
            fetched = json.loads(_first(cursor.fetchone())) if prepared.aggregated else cursor.fetchall()
        finally:
            cursor.close()
        procs = prepared.results
        if not any(procs):
            return [tuple(r) for r in fetched]
        return [tuple(v if p is None else p(v) for p, v in zip(procs, r, strict=True)) for r in fetched]

    def one_or_none(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    def many(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set with one DBAPI ``executemany`` (bulk writes; no results)."""
        if not params:
            return
        prepared = self._prepared_for(conn)
        if prepared is None:
            conn.execute(cast(Executable, self.statement), [dict(p) for p in params])
            return
        batch = [_dbapi_params(prepared, p) for p in params]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(prepared.sql, batch)
        finally:
            cursor.close()


_MISSING: Any = object()
_CONNECTION = "crocevia.fast.connection"  # session.info key


def allocate_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` new ids for rows of ``table`` that this transaction will insert, in order.

    Why: rows whose ids are known up front go in together (a multi-row INSERT, an executemany)
    instead of one ``INSERT ... RETURNING`` each. On PostgreSQL the ids come from the table's own sequence, as
    a plain insert's would. On SQLite the caller must hold the write lock (every write
    transaction here begins ``IMMEDIATE``) and insert before anything else adds to ``table``:
    they are the next ``max(id) + 1`` values, which is what SQLite itself would assign.
    """
    if n <= 0:
        return []
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            # The sequence is looked up each time: which one a table name means depends on the
            # connection's search path (a schema per tenant or per test), not on the process.
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           (table.name, n))
            return sorted(int(row[0]) for row in cursor.fetchall())
        # Table names come from our own metadata, never from input.
        cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{table.name}"')
        top = int(_first(cursor.fetchone()))
        return list(range(top + 1, top + 1 + n))
    finally:
        cursor.close()


def connection_of(s: Session) -> Connection:
    """The session's connection for its current transaction, as ``Session.connection()`` returns it.

    Why: ``Session.connection()`` walks the session's transaction state machine on every call,
    and the ingest hooks each ask for it once per batch; that walk cost more than their queries.
    The answer is kept for as long as the same transaction runs."""
    transaction = s.get_transaction()
    cached = s.info.get(_CONNECTION)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cast(Connection, cached[1])
    conn = s.connection()
    s.info[_CONNECTION] = (s.get_transaction(), conn)
    return conn


def exists_once_per_transaction(s: Session, cache_key: str, statement: FastStatement,
                                 params: Mapping[str, Any]) -> bool:
    """Whether ``statement`` finds a row, asked once per transaction and parameters.

    For the ingest hooks' "is there anything to do in this workspace?" questions (an active flow,
    an active rule): a group commit carries many messages, and the answer cannot change within it
    except by the transaction itself, which is flushed first so that it counts."""
    cache: dict[tuple[Any, ...], bool] = s.info.setdefault(cache_key, {})
    key = tuple(sorted(params.items()))
    if key not in cache:
        s.flush()
        cache[key] = statement.one_or_none(connection_of(s), params) is not None
    return cache[key]


class FastInStatement:
    """A ``FastStatement`` with an ``IN`` list whose length is known only when it runs.

    Why not SQLAlchemy's expanding ``IN``: it re-renders the SQL on every execution, which costs
    more than the lookup it serves. Here there is one compiled statement per size (1, 2, 4 ... 64
    placeholders); a list is padded to the next size by repeating its last value, which changes
    nothing in an ``IN``, and a longer list runs in chunks of 64.

    ``build`` makes the statement from the placeholders, e.g. ``lambda keys: select(t.c.id).where(
    t.c.key.in_(keys))``.
    """

    SIZES = (1, 2, 4, 8, 16, 32, 64)

    def __init__(self, build: Callable[[list[BindParameter[Any]]], ClauseElement], name: str = "in_value",
                 *, one_row: bool = False) -> None:
        self._build = build
        self._name = name
        self._one_row = one_row
        self._by_size: dict[int, FastStatement] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any], values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows for ``values`` in the ``IN`` list (with ``params`` for the other parameters)."""
        found: list[tuple[Any, ...]] = []
        top = self.SIZES[-1]
        for start in range(0, len(values), top):
            chunk = list(values[start:start + top])
            size = next(n for n in self.SIZES if n >= len(chunk))
            statement = self._by_size.get(size)
            if statement is None:
                names = [f"{self._name}_{i}" for i in range(size)]
                statement = self._by_size[size] = FastStatement(self._build([bindparam(n) for n in names]),
                                                                one_row=self._one_row)
            padded = chunk + [chunk[-1]] * (size - len(chunk))
            found.extend(statement.rows(conn, {**params, **{f"{self._name}_{i}": v for i, v in enumerate(padded)}}))
        return found


def _first(row: Any) -> Any:
    """The first value of a row that a statement always returns (an aggregate, a sequence)."""
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row[0]


def _converted_none(processor: Callable[[Any], Any]) -> Any:
    """What ``processor`` makes of None, worked out once (_MISSING if it would not take it)."""
    try:
        return processor(None)
    except Exception:
        return _MISSING


def _dbapi_params(prepared: _Prepared, params: Mapping[str, Any]) -> Any:
    values = [fixed if key is None else params[key] for key, fixed in prepared.sources]
    # Only the values whose type converts them; None (most optional columns of a new row) gets
    # the conversion's answer worked out once, without a call.
    for index, convert, none in prepared.converters:
        value = values[index]
        values[index] = none if value is None and none is not _MISSING else convert(value)
    for index, default in prepared.defaults:
        proc = prepared.binds[index][3]
        values[index] = default(None) if proc is None else proc(default(None))
    return values if prepared.positional else {
        name: v for (name, _k, _f, _p), v in zip(prepared.binds, values, strict=True)}


def _same_as_last(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``processor``, answering at once when given the very object it was given last.

    Why: a batch of webhooks stamps every row with one ``now``, and converting a datetime for
    the driver (time zone, then text on SQLite) cost more than the rest of a row's parameters.
    The last (value, result) pair is swapped in one assignment, so threads sharing a statement
    never see a result paired with another value."""
    last: list[tuple[Any, Any]] = [(_MISSING, None)]

    def process(value: Any) -> Any:
        seen, result = last[0]
        if value is seen:
            return result
        result = processor(value)
        last[0] = (value, result)
        return result

    return process


def _aggregated(statement: ClauseElement, rows: _Prepared, keys: tuple[str, ...] | None,
                dialect: Dialect) -> _Prepared | None:
    """``statement`` (prepared as ``rows``) as a SELECT of one row holding all its rows as JSON."""
    sub = cast(Select[Any], statement).subquery()
    one = _prepare(select(func.json_group_array(func.json_array(*sub.c))), keys, dialect)
    if one is None:
        return rows
    return replace(one, results=rows.results, aggregated=True)


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda _ctx: value


def _prepare(statement: ClauseElement, keys: tuple[str, ...] | None, dialect: Dialect) -> _Prepared | None:
    try:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        assert isinstance(compiled, SQLCompiler)
        defaults: dict[str, Any] = {}
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default if column in compiled.insert_prefetch else column.onupdate
            if default is None or not (default.is_scalar or default.is_callable):
                raise NotImplementedError(f"column {column.key}: default computed by SQLAlchemy")
            defaults[column.key] = default
        if dialect.positional:  # one value per placeholder, in order (a name may repeat)
            pairs = [(compiled.binds[name], name) for name in compiled.positiontup or []]
        else:  # one value per distinct name rendered in the SQL
            pairs = list({name: (bind, name) for bind, name in compiled.bind_names.items()}.values())
        binds: list[tuple[str, str | None, Any, Processor]] = []
        per_row: list[tuple[int, Callable[[Any], Any]]] = []
        for bind, name in pairs:
            key = bind.key if bind.key in (keys or ()) or (keys is None and bind.required) else None
            fixed: Any = bind.value
            processor: Processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None and bind.type._type_affinity is DateTime:
                processor = _same_as_last(processor)
            rendered = compiled.escaped_bind_names.get(name, name) if compiled.escaped_bind_names else name
            if key is None and bind.key in defaults:
                default = defaults[bind.key]
                # A plain value, or a function SQLAlchemy wrapped to take the execution context.
                make = default.arg if default.is_callable else _constant(default.arg)
                make(None)  # a default that reads the execution context fails here: SQLAlchemy runs it
                per_row.append((len(binds), make))
                binds.append((rendered, None, None, processor))
                continue
            if key is None and bind.required:
                raise NotImplementedError(f"parameter {bind.key} has no value")
            binds.append((rendered, key, fixed, processor))
        results = tuple(
            col[3].dialect_impl(dialect).result_processor(dialect, None) for col in compiled._result_columns
        )
        return _Prepared(compiled.string, dialect.positional, tuple(binds), tuple(per_row), results)
    except Exception:  # any doubt: let SQLAlchemy run it, as it would have
        log.warning("statement runs through SQLAlchemy's full path", exc_info=True)
        return None
