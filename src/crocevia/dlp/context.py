"""Context words: keywords looked for near a candidate, or anywhere in a message."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crocevia.dlp.textinfo import lowered


class Context:
    """Keywords searched for in a window of characters around a span.

    Context words turn an ambiguous match into a confident one ("passaporto
    YA1234567") or veto it ("ordine n. 4512 7788 1234"). Matching is
    case-insensitive on whole words, without slicing the text.
    """

    __slots__ = ("_needles", "_re", "_words", "after", "before")

    def __init__(self, words: Iterable[str], *, before: int = 48, after: int = 0) -> None:
        unique = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
        self._re: re.Pattern[str] | None = None
        self._words = tuple(unique)
        # For the whole-text prefilter, a word containing another word adds
        # nothing ("documento" contains "document"): keep the minimal set.
        needles = [w for w in unique if not any(o != w and o in w for o in unique)]
        # One literal alternation over the lowered text beats a Python loop of `in` tests.
        self._needles = re.compile("|".join(re.escape(w) for w in needles)) if needles else None
        if unique:
            alternation = "|".join(re.escape(w) for w in unique)
            self._re = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
        self.before = before
        self.after = after

    def __bool__(self) -> bool:
        return self._re is not None

    @property
    def words(self) -> tuple[str, ...]:
        return self._words

    def anywhere(self, text: str) -> bool:
        """Whether a keyword occurs anywhere in ``text``.

        A literal search on the lowered text first: far cheaper than running
        the case-insensitive, word-bounded alternation over every position.
        """
        if self._re is None or self._needles is None:
            return False
        if self._needles.search(lowered(text)) is None:
            return False
        return self._re.search(text) is not None

    def near(self, text: str, start: int, end: int) -> bool:
        """Whether a keyword occurs in the window before ``start`` or after ``end``."""
        if self._re is None or self._needles is None:
            return False
        lower = lowered(text)
        # The literal search on the lowered text rules most windows out cheaply;
        # it is only valid when lowering kept every offset (it almost always does).
        same_offsets = len(lower) == len(text)
        low = max(0, start - self.before)
        if (not same_offsets or self._needles.search(lower, low, start) is not None) and self._re.search(
            text, low, start
        ) is not None:
            return True
        if not self.after:
            return False
        high = end + self.after
        if same_offsets and self._needles.search(lower, end, high) is None:
            return False
        return self._re.search(text, end, high) is not None
