"""``column IN (a list given as ONE parameter)``, compiled once per engine.

Why: SQLAlchemy's expanding ``IN`` renders and compiles the SQL anew on every execution, which for the
thousands of ids of a campaign batch cost more than the lookups; ``FastInStatement`` chunks by 64, which
means dozens of statements per batch. Here the whole list is one parameter: a JSON array read with
``json_each`` on SQLite, an array compared with ``= ANY(..)`` on PostgreSQL. The statement is a
``FastStatement`` per engine, built on first use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ClauseElement

from crocevia.storage.fast import FastStatement

Member = Callable[[Any, str], ColumnElement[bool]]  # (a column or ORM attribute, parameter name)


def _member_sqlite(column: Any, name: str) -> ColumnElement[bool]:
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=String))))


def _member_postgresql(column: Any, name: str) -> ColumnElement[bool]:
    item = String() if isinstance(column.type, String) else BigInteger()
    return column == any_(bindparam(name, type_=ARRAY(item)))


class ListStatement:
    """A statement with list parameters: ``build(member)`` makes it, writing ``member(column, name)``
    where the SQL says "``column`` is in the list passed as ``name``"."""

    def __init__(self, build: Callable[[Member], ClauseElement], lists: Sequence[str]) -> None:
        self._build, self._lists = build, tuple(lists)
        self._by_engine: dict[str, FastStatement] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows; each list parameter is given as a Python sequence."""
        engine = conn.dialect.name
        stmt = self._by_engine.get(engine)
        if stmt is None:
            stmt = self._by_engine[engine] = FastStatement(
                self._build(_member_postgresql if engine == "postgresql" else _member_sqlite))
        if engine != "postgresql":
            params = {k: json.dumps(list(v)) if k in self._lists else v for k, v in params.items()}
        else:
            params = {k: list(v) if k in self._lists else v for k, v in params.items()}
        return stmt.rows(conn, params)
