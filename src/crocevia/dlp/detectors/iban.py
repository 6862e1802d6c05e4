"""IBANs of every country in the SWIFT registry, compact or grouped with spaces."""

from __future__ import annotations

import re
from functools import cache, lru_cache

from stdnum import iban, numdb

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.context import Context
from crocevia.dlp.findings import Finding, Label

# The check digits, preceded by a two-letter country code that starts a word
# ("IT60", or "IT 60" as Italian banks print it) and followed by an alphanumeric
# character (maybe after one separator). Anchored on the digits so the regex
# engine skips letter-only stretches fast; letters in either case because people
# type IBANs in lower case too (the spaced form: upper case only).
_ANCHOR = re.compile(
    r"\d(?:(?<=[A-Za-z]{2}\d)(?<![^\W_][A-Za-z]{2}\d)|(?<=[A-Z]{2} \d)(?<![^\W_][A-Z]{2} \d))\d(?=[ -]?[A-Za-z0-9])"
)
_BBAN_PART = re.compile(r"(\d+)!([nac])")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SEPARATORS = frozenset(" -")

_CONTEXT_WORDS = ("iban", "bonifico", "conto", "c/c", "bank transfer", "wire", "account", "coordinate")


@cache
def iban_length(country: str) -> int | None:
    """Total IBAN length for ``country`` from python-stdnum's copy of the registry."""
    info = numdb.get("iban").info(country + "00")
    props = info[0][1] if info else {}
    bban = props.get("bban")
    if not bban:
        return None
    return 4 + sum(int(n) for n, _ in _BBAN_PART.findall(bban))


class IbanDetector(BaseDetector):
    name = "iban"
    labels = (Label.IBAN,)
    min_digits = 2  # the check digits; some countries' BBANs are all letters

    def __init__(self, score: float = 0.97, context_score: float = 0.99) -> None:
        self.score = score
        self.context_score = context_score
        self._context = Context(_CONTEXT_WORDS, before=40)

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        for match in _ANCHOR.finditer(text):
            start = match.start() - (3 if text[match.start() - 1] == " " else 2)
            length = iban_length(text[start : start + 2].upper())
            if length is None:
                continue
            end = _span_end(text, start, length)
            if end is None or not is_iban(text[start:end]):
                continue
            score = self.context_score if self._context.near(text, start, end) else self.score
            found.append(Finding(Label.IBAN, start, end, score, self.name))
        return found


@lru_cache(maxsize=4096)
def is_iban(value: str) -> bool:
    """python-stdnum's IBAN check (mod-97 and the country's BBAN format), cached per value."""
    return iban.is_valid(value)


def _span_end(text: str, start: int, length: int) -> int | None:
    """End of the ``length`` alphanumerics from ``start``, allowing single separators.

    Returns None when the run is shorter or continues past the expected length
    inside the same token (then it is not an IBAN of that country).
    """
    count = 0
    pos = start
    size = len(text)
    while pos < size and count < length:
        char = text[pos]
        if char in _ALNUM:
            count += 1
        elif char in _SEPARATORS and pos + 1 < size and text[pos + 1] in _ALNUM and count >= 2:
            pass
        else:
            return None
        pos += 1
    if count < length or (pos < size and text[pos] in _ALNUM):
        return None
    return pos


# An IBAN-like run even with a wrong checksum: country, check digits ("IT60" or
# "IT 60"), then groups of letters and digits.
_IBAN_SHAPE = re.compile(r"(?<![^\W_])[A-Z]{2} ?\d{2}(?:[ ]?[A-Z0-9]{1,12}){2,10}(?![^\W_])")


def inside_iban_shape(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` lies within an IBAN-shaped run (valid or not).

    A mistyped IBAN is not a card or a phone number even when its digits are.
    """
    window_start = max(0, start - 40)
    for match in _IBAN_SHAPE.finditer(text, window_start, min(len(text), end + 40)):
        if match.start() < start and end <= match.end() and sum(c.isalnum() for c in match.group()) >= 15:
            return True
    return False
