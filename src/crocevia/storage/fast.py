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

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Executable
from sqlalchemy.engine import Dialect
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


class FastStatement:
    """A Core statement executed on the raw DBAPI cursor of a SQLAlchemy ``Connection``.

    ``keys``: the parameter names every call passes (for an INSERT, the columns it sets);
    every call must pass all of them.
    """

    def __init__(self, statement: ClauseElement, keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.keys = tuple(keys) if keys is not None else None
        self._prepared: dict[str, _Prepared | None] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute; the result rows (with the columns' result processing applied)."""
        dialect = conn.dialect
        prepared = self._prepared.get(dialect.name, _MISSING)
        if prepared is _MISSING:
            prepared = self._prepared[dialect.name] = _prepare(self.statement, self.keys, dialect)
        if prepared is None:
            return [tuple(r) for r in conn.execute(cast(Executable, self.statement), dict(params))]
        values = [
            (fixed if key is None else params[key]) if proc is None
            else proc(fixed if key is None else params[key])
            for _name, key, fixed, proc in prepared.binds
        ]
        for index, default in prepared.defaults:
            proc = prepared.binds[index][3]
            values[index] = default(None) if proc is None else proc(default(None))
        dbapi_params: Any = values if prepared.positional else {
            name: v for (name, _k, _f, _p), v in zip(prepared.binds, values, strict=True)}
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(prepared.sql, dbapi_params)
            if not prepared.results:
                return []
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        procs = prepared.results
        if not any(procs):
            return [tuple(r) for r in fetched]
        return [tuple(v if p is None else p(v) for p, v in zip(procs, r, strict=True)) for r in fetched]

    def one_or_none(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None


_MISSING: Any = object()


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
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
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
