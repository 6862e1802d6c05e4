"""Splitting a run of digit groups ("4242 4242 4242 4242 123") into a candidate number.

Card and phone candidates are found with a permissive regex that may swallow a
trailing number (a CVV, a count). When the whole run does not validate, the
detectors retry on its leading groups only: slicing a number out of the middle
of a longer run finds "valid" numbers inside order codes far too often.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_GROUP = re.compile(r"\d+")


def group_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the digit groups inside ``text[start:end]``."""
    return [m.span() for m in _GROUP.finditer(text, start, end)]


def leading_runs(groups: list[tuple[int, int]], min_digits: int, max_digits: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of the first k groups, longest first, excluding the full run."""
    digits = 0
    ends: list[tuple[int, int]] = []
    for index, (start, end) in enumerate(groups[:-1]):
        digits += end - start
        if digits > max_digits:
            break
        if digits >= min_digits:
            ends.append((groups[0][0], groups[index][1]))
    yield from reversed(ends)
