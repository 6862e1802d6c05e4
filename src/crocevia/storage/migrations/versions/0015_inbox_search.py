"""Issue 5 (agent inbox): full-text search over message text, and the contact panel's indexes.

- SQLite: an FTS5 table ``messages_fts`` with external content on ``messages`` (only the index is
  stored, not a second copy of the text), kept in step by insert/update/delete triggers, filled
  once here with ``rebuild``. Tokenizer ``unicode61 remove_diacritics 2``: case and accents ignored.
- PostgreSQL: ``crocevia_search_text(text)`` (IMMUTABLE SQL: ``translate()`` folds accented Latin
  letters and turns punctuation into spaces, so PostgreSQL splits and folds words as FTS5 does with
  no extension and no superuser) and a GIN index on ``to_tsvector('simple', crocevia_search_text(text))``.
  The fold table is built here from Unicode data, frozen with this revision: the application's copy
  is ``crocevia.storage.fulltext`` and a test checks that the database folds exactly as it does.
- ``bookings.contact_id`` and ``orders.contact_id`` indexes: the contact panel lists them per contact.

On SQLite, a later migration that rebuilds ``messages`` in batch mode drops its triggers: it must
create ``messages_fts_*`` triggers again (as for 0014's ``trg_messages_analytics_status``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUNCTUATION = (string.punctuation
               + "\u2018\u2019\u201a\u201c\u201d\u201e\u00ab\u00bb\u2026\u2013\u2014\u00b7\u2022\u00a1\u00bf")
PG_TEXT_LIMIT = 100_000


def _fold_table() -> tuple[str, str]:
    src, dst = [], []
    for cp in [cp for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)] if cp not in (0x1E0, 0x1E1)]:
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if len(base) == 1 and base.isascii() and base.isalpha() and base != ch:
            src.append(ch)
            dst.append(base)
    return "".join(src) + PUNCTUATION, "".join(dst) + " " * len(PUNCTUATION)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


SQLITE_UP = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_au",
    "DROP TRIGGER IF EXISTS messages_fts_ad",
    "DROP TRIGGER IF EXISTS messages_fts_ai",
    "DROP TABLE IF EXISTS messages_fts",
]


def _pg_up() -> list[str]:
    fold_from, fold_to = _fold_table()
    return [
        # A plain SQL body (not SQL-standard RETURN: PostgreSQL 13 too), which the planner inlines
        # both in the index and in queries, so they match.
        "CREATE FUNCTION crocevia_search_text(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        f"AS $body$ SELECT translate(left(value, {PG_TEXT_LIMIT}), {_sql_literal(fold_from)}, "
        f"{_sql_literal(fold_to)}) $body$",
        "CREATE INDEX ix_messages_search ON messages "
        "USING gin (to_tsvector('simple'::regconfig, crocevia_search_text(text)))",
    ]


PG_DOWN = [
    "DROP INDEX IF EXISTS ix_messages_search",
    "DROP FUNCTION IF EXISTS crocevia_search_text(text)",
]


def _run(statements: Sequence[str]) -> None:
    # Straight to the driver: the fold table holds ':' and '%', which SQLAlchemy's text() would read
    # as bind parameters / format markers.
    conn = op.get_bind()
    for statement in statements:
        conn.exec_driver_sql(statement.replace("%", "%%") if conn.dialect.name == "postgresql" else statement)


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_contact', ['contact_id'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_contact', ['contact_id'], unique=False)
    _run(_pg_up() if op.get_context().dialect.name == 'postgresql' else SQLITE_UP)


def downgrade() -> None:
    _run(PG_DOWN if op.get_context().dialect.name == 'postgresql' else SQLITE_DOWN)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_contact')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_contact')
