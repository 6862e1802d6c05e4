"""Cheap facts about a message, computed once and shared by the detectors.

Most messages hold few digits and no long tokens, while most detectors need a
long run of digits or a long token: computing these facts once lets each
detector skip its regex when it cannot match. Each result is memoised for the
last text seen (as one tuple, so concurrent threads never read facts that
belong to another text).
"""

from __future__ import annotations

import re

# Digits joined by up to two spaces, dots or dashes: "4111 1111 1111 1111",
# "756.9217.0769.85", "+39 333 123 4567" -> one run each.
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]{0,2}\d)*")

_last_numbers: tuple[str, int, int] = ("", 0, 0)
_last_lower: tuple[str, str, str | None] = ("", "", "")
_last_token: tuple[str, int] = ("", 0)


def _numbers(text: str) -> tuple[str, int, int]:
    global _last_numbers
    cached = _last_numbers
    if cached[0] is text:
        return cached
    total = longest = 0
    for run in _DIGIT_RUN.findall(text):
        # Most runs are short: a lone digit needs no counting.
        digits = len(run) - run.count(" ") - run.count(".") - run.count("-") if len(run) > 1 else 1
        total += digits
        if digits > longest:
            longest = digits
    cached = (text, total, longest)
    _last_numbers = cached
    return cached


def digit_count(text: str) -> int:
    """How many digits ``text`` holds."""
    return _numbers(text)[1]


def longest_digit_run(text: str) -> int:
    """Digits in the longest run of digits separated by at most two of `` .-``."""
    return _numbers(text)[2]


def _lower(text: str) -> tuple[str, str, str | None]:
    global _last_lower
    cached = _last_lower
    if cached[0] is text:
        return cached
    lower = text.lower()
    cached = (text, lower, lower if len(lower) == len(text) else None)
    _last_lower = cached
    return cached


def lowered(text: str) -> str:
    """``text.lower()``, memoised for the detectors that look for keywords."""
    return _lower(text)[1]


def lowered_aligned(text: str) -> str | None:
    """``text.lower()`` if every character kept its offset, else None.

    Lowering almost never changes a length ("İ" is one of the rare exceptions).
    When it does not, a case-sensitive lower-case regex run on the lowered text
    finds the same spans as an IGNORECASE one on the original, several times
    faster: the regex engine skips alternatives on their first literal only
    when matching is case-sensitive.
    """
    return _lower(text)[2]


def longest_token(text: str) -> int:
    """Length of the longest whitespace-separated token."""
    global _last_token
    cached = _last_token
    if cached[0] is text:
        return cached[1]
    longest = max(map(len, text.split()), default=0)
    _last_token = (text, longest)
    return longest
