"""Context words: keywords looked for near a candidate, or anywhere in a message."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crocevia.dlp.textinfo import lowered_aligned
from crocevia.dlp.wordtrie import trie_alternation


class Context:
    """Keywords searched for in a window of characters around a span.

    Context words turn an ambiguous match into a confident one ("passaporto
    YA1234567") or veto it ("ordine n. 4512 7788 1234"). Matching is
    case-insensitive on whole words, without slicing the text.
    """

    __slots__ = ("_lower_re", "_re", "_words", "after", "before")

    def __init__(self, words: Iterable[str], *, before: int = 48, after: int = 0) -> None:
        unique = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
        self._re: re.Pattern[str] | None = None
        self._lower_re: re.Pattern[str] | None = None
        self._words = tuple(unique)
        if unique:
            # Factored by prefixes, and run on the lowered text: case-sensitive, so
            # the regex engine rejects a position on its first letter (IGNORECASE
            # disables that shortcut).
            bounded = rf"(?<!\w){trie_alternation(unique)}(?!\w)"
            self._lower_re = re.compile(bounded)
            # For the rare text whose lowering moves offsets.
            self._re = re.compile(bounded, re.IGNORECASE)
        self.before = before
        self.after = after

    def __bool__(self) -> bool:
        return self._re is not None

    @property
    def words(self) -> tuple[str, ...]:
        return self._words

    def _search(self, text: str, start: int, end: int) -> bool:
        assert self._re is not None and self._lower_re is not None
        lower = lowered_aligned(text)
        if lower is not None:
            return self._lower_re.search(lower, start, end) is not None
        return self._re.search(text, start, end) is not None

    def anywhere(self, text: str) -> bool:
        """Whether a keyword occurs anywhere in ``text``."""
        if self._re is None:
            return False
        return self._search(text, 0, len(text))

    def near(self, text: str, start: int, end: int) -> bool:
        """Whether a keyword occurs in the window before ``start`` or after ``end``."""
        if self._re is None:
            return False
        if self._search(text, max(0, start - self.before), start):
            return True
        return bool(self.after) and self._search(text, end, end + self.after)
