"""Many rows into (or updated in) one table, given as tuples whose values are already in the driver's form.

Why: a campaign writes a million messages, conversations and outbox rows. Through SQLAlchemy (or even
``FastStatement.many``) every row's every value goes through its column's bind processor, which costs more
than SQLite's insert itself; yet most values are the same for a whole batch (the time, the status, the
workspace). Here the caller encodes each such value once with ``encoder`` (the column type's own bind
processor, so what is stored is exactly what the ORM would store) and builds plain tuples.

On SQLite, with ``rows_per_statement`` > 1, rows go in as multi-row ``INSERT .. VALUES (..), (..)``: a
table with an FTS5 trigger (``messages``, migration 0015) otherwise flushes the full-text index once per
row, because each executed statement opens a savepoint and FTS5 writes its pending terms out at every one
(measured: 25 µs of a message's 35 µs; 3 µs as one statement per 500 rows).

Other engines take the rows through ``FastStatement.many`` (values then stay as plain Python values:
``encoder`` hands them back unchanged and the statement processes them as usual).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, update

from crocevia.storage.fast import FastStatement


class _Rows:
    """What inserting and updating rows as tuples share: each column's encoder, built once per engine."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._encoders: dict[tuple[str, str], Callable[[Any], Any]] = {}

    def encoder(self, conn: Connection, key: str) -> Callable[[Any], Any]:
        """How a value of column ``key`` must be given in a row: encoded for the driver on SQLite."""
        cache_key = (conn.dialect.name, key)
        encode = self._encoders.get(cache_key)
        if encode is None:  # asked for every batch: the type's processor is looked up once
            encode = self._encoders[cache_key] = _encoder(self.table, conn, key)
        return encode


class RowInsert(_Rows):
    def __init__(self, table: Table, keys: Sequence[str], *, rows_per_statement: int = 1) -> None:
        super().__init__(table)
        self.keys = tuple(keys)
        self.rows_per_statement = max(1, rows_per_statement)
        self._fast = FastStatement(insert(table), self.keys)
        self._sql: dict[int, str] = {}

    def many(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if conn.dialect.name != "sqlite":
            self._fast.many(conn, [dict(zip(self.keys, row, strict=True)) for row in rows])
            return
        raw = conn.connection.dbapi_connection
        cursor = raw.cursor()  # type: ignore[union-attr]
        try:
            step = min(self.rows_per_statement, _max_params(raw) // len(self.keys))
            if step <= 1:
                cursor.executemany(self._statement(1), rows)
                return
            for start in range(0, len(rows), step):
                part = rows[start:start + step]
                cursor.execute(self._statement(len(part)), [v for row in part for v in row])
        finally:
            cursor.close()

    def _statement(self, n_rows: int) -> str:
        sql = self._sql.get(n_rows)
        if sql is None:
            q = self._quote
            one = "(" + ", ".join("?" * len(self.keys)) + ")"
            columns = ", ".join(q(self.table.c[k].name) for k in self.keys)
            sql = self._sql[n_rows] = f"INSERT INTO {q(self.table.name)} ({columns}) VALUES {', '.join([one] * n_rows)}"
        return sql

    @staticmethod
    def _quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'


class RowUpdate(_Rows):
    """``UPDATE table SET .. WHERE key = ?`` for many rows, given as tuples (the set values in ``keys``
    order, then the key), encoded like ``RowInsert``'s. Other engines: ``FastStatement.many``."""

    def __init__(self, table: Table, keys: Sequence[str], where: str) -> None:
        super().__init__(table)
        self.keys, self.where = tuple(keys), where
        col = table.c
        self._fast = FastStatement(update(table).where(col[where] == bindparam("w_" + where)).values(
            {k: bindparam("s_" + k) for k in self.keys}), [*("s_" + k for k in self.keys), "w_" + where])
        q = RowInsert._quote
        sets = ", ".join(f"{q(col[k].name)} = ?" for k in self.keys)
        self._sql = f"UPDATE {q(table.name)} SET {sets} WHERE {q(col[where].name)} = ?"

    def many(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if conn.dialect.name != "sqlite":
            names = [*("s_" + k for k in self.keys), "w_" + self.where]
            self._fast.many(conn, [dict(zip(names, row, strict=True)) for row in rows])
            return
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self._sql, rows)
        finally:
            cursor.close()


def _max_params(raw: Any) -> int:
    """This SQLite build's limit on bound parameters per statement (older builds: 999)."""
    try:
        return int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):  # Python < 3.11 cannot ask: assume the old default
        return 999


def _encoder(table: Table, conn: Connection, key: str) -> Callable[[Any], Any]:
    if conn.dialect.name != "sqlite":
        return _same
    proc = table.c[key].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return proc if proc is not None else _same


def _same(value: Any) -> Any:
    return value
