"""Ids handed out before a multi-row INSERT (``storage.fast.allocate_ids``) are the ones the
table itself would have given: after the highest id on SQLite (under the write lock), from the
table's own sequence on PostgreSQL, and on PostgreSQL from the sequence of the table that the
connection's search path names, whichever schema an earlier call in the process used."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, Table, text

from crocevia.runtime import Runtime
from crocevia.storage.fast import allocate_ids

_THINGS = Table("alloc_things", MetaData(), Column("id", BigInteger, primary_key=True))


def test_allocated_ids_follow_the_table_and_its_schema(rt: Runtime) -> None:
    if rt.db.is_postgres:
        with rt.db.engine.begin() as conn:
            conn.execute(text("CREATE SCHEMA alloc_other"))
            conn.execute(text("CREATE TABLE alloc_other.alloc_things (id bigserial PRIMARY KEY)"))
            conn.execute(text("CREATE TABLE public.alloc_things (id bigserial PRIMARY KEY)"))
            conn.execute(text("SELECT setval('public.alloc_things_id_seq', 100)"))
            conn.execute(text("SET LOCAL search_path TO alloc_other"))
            in_other = allocate_ids(conn, _THINGS, 3)
            conn.execute(text("SET LOCAL search_path TO public"))
            in_public = allocate_ids(conn, _THINGS, 2)
        assert in_other == [1, 2, 3]
        assert in_public == [101, 102]
        return
    with rt.db.transaction() as s:
        conn = s.connection()
        conn.execute(text("CREATE TABLE alloc_things (id INTEGER PRIMARY KEY)"))
        assert allocate_ids(conn, _THINGS, 2) == [1, 2]
        conn.execute(text("INSERT INTO alloc_things (id) VALUES (7)"))
        assert allocate_ids(conn, _THINGS, 3) == [8, 9, 10]
        assert allocate_ids(conn, _THINGS, 0) == []
