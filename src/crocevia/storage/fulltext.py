"""Full-text search over message text, with one meaning on both engines.

A search is a list of words; a message matches when every word starts one of its words, ignoring
case and accents ("citta" finds "Città", "perche" finds "perché", "pren" finds "prenotare").
Punctuation separates words ("l'albero" is "l" and "albero"; "mario@example.it" is three words).

- SQLite: the FTS5 table ``messages_fts`` (external content on ``messages``, kept by triggers;
  tokenizer ``unicode61 remove_diacritics 2``), queried with ``MATCH '"word"* AND ...'``.
- PostgreSQL: the GIN index ``ix_messages_search`` on ``to_tsvector('simple', crocevia_search_text(text))``.
  ``crocevia_search_text`` (migration 0015) folds the accented Latin letters of ``FOLD_FROM`` and turns
  punctuation into spaces with ``translate()``, so no extension (unaccent, pg_trgm) and no superuser
  are needed, and PostgreSQL's parser splits words where FTS5 does. The query repeats the indexed
  expression exactly, which is what lets the planner use the index.
Both are created by migration 0015, which builds its own copy of these tables: they must never
change without a new migration (tests/core/test_search.py checks the database folds as this module).
"""

from __future__ import annotations

import re
import string
import unicodedata

from sqlalchemy import Boolean, ColumnElement, Select, literal_column, select, text
from sqlalchemy.sql import func

from crocevia.storage.tables import Message

# Latin letters with diacritics (Latin-1, Extended-A/B, Extended Additional) → their base letter,
# but for Ǡ ǡ, which FTS5's unicode61 keeps as they are.
_LATIN = [cp for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)] if cp not in (0x1E0, 0x1E1)]
# ASCII punctuation and the typographic marks Italian texts use (’ « » … – —) → a space.
PUNCTUATION = (string.punctuation
               + "\u2018\u2019\u201a\u201c\u201d\u201e\u00ab\u00bb\u2026\u2013\u2014\u00b7\u2022\u00a1\u00bf")


def _base_letter(ch: str) -> str | None:
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if len(base) == 1 and base.isascii() and base.isalpha() and base != ch else None


_FOLDS = [(chr(cp), b) for cp in _LATIN if (b := _base_letter(chr(cp)))]
FOLD_FROM = "".join(a for a, _ in _FOLDS) + PUNCTUATION
FOLD_TO = "".join(b for _, b in _FOLDS) + " " * len(PUNCTUATION)
_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)
_WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 8  # a search is typed by a person; more words only cost time
PG_TEXT_LIMIT = 100_000  # characters indexed per message on PostgreSQL (a tsvector holds at most 1 MB)

# Objects the migration creates that the ORM models do not describe (see storage/migrate.py).
SEARCH_TABLE = "messages_fts"
SEARCH_INDEX = "ix_messages_search"


def fold(value: str) -> str:
    """What both engines index for ``value``: accents off, punctuation as spaces (case is left to them)."""
    return unicodedata.normalize("NFC", value).translate(_TABLE)


def words(q: str) -> list[str]:
    """The search's words, folded and lower-cased, at most ``MAX_WORDS``."""
    return _WORD.findall(fold(q).lower())[:MAX_WORDS]


def is_search_object(name: str | None) -> bool:
    """FTS5's virtual table and its shadow tables, and PostgreSQL's expression index."""
    return bool(name) and (name == SEARCH_INDEX or str(name).startswith(SEARCH_TABLE))


def matching_messages(dialect: str, workspace_id: int, terms: list[str]) -> Select[int]:
    """Conversation ids having a message that holds every term (as a word prefix)."""
    if not terms:
        raise ValueError("no terms to search for")
    stmt = select(Message.conversation_id).where(Message.workspace_id == workspace_id)
    if dialect == "postgresql":
        return stmt.where(pg_match(terms))
    match = " AND ".join(f'"{t}"*' for t in terms)  # terms are letters and digits only: no FTS5 syntax
    ids = text(f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :fts_match").bindparams(
        fts_match=match).columns(rowid=Message.id.type)
    return stmt.where(Message.id.in_(ids))


def pg_match(terms: list[str]) -> ColumnElement[bool]:
    """``document @@ query``, the document being exactly the index expression of migration 0015
    ('simple' a constant, not a parameter), so that PostgreSQL answers it from the GIN index."""
    document = func.to_tsvector(literal_column("'simple'::regconfig"), func.crocevia_search_text(Message.text))
    query = func.to_tsquery(literal_column("'simple'::regconfig"), " & ".join(f"{t}:*" for t in terms))
    return document.op("@@", return_type=Boolean)(query)
