"""Phone numbers, validated by libphonenumber (the ``phonenumbers`` package).

``PhoneNumberMatcher`` costs ~100 µs per message even when there is no number,
so a regex first finds phone-shaped candidates and only those are parsed and
validated with ``phonenumbers.parse`` + ``is_valid_number`` (~25 µs each, cached). The
default region is Italy; numbers with ``+``/``00`` are parsed as international,
and North-American formatted numbers ("(415) 555-0132") are tried as US.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.context import Context
from crocevia.dlp.detectors.groups import group_spans, leading_runs
from crocevia.dlp.detectors.iban import inside_iban_shape
from crocevia.dlp.detectors.vocab import NOT_A_PHONE_WORDS, PHONE_WORDS
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.textinfo import digit_count

# Where a phone number can start: an international prefix, a parenthesised area
# code, an Italian national number (0 landline, 3 mobile, 8 toll-free), or a
# formatted North-American number. Then digits with single separators. Not glued
# to words, other numbers or decimal separators (prices, versions, times). A
# slash is allowed only after an Italian area code ("02/1234567") so that a date
# right after a number is not swallowed.
_CANDIDATE = re.compile(
    r"""
    (?=[\d+(])                     # first character: lets the engine skip ahead
    (?<![\w+/.,-])(?<!\d[ .-])
    (?:
        (?:\+|00)\d{1,3}
      | \(\d{2,5}\)
      | 0\d{1,3}/(?=\d)
      | [038]\d
      | [2-9]\d{2}(?=[ .-]\d{3}[ .-]\d{4}(?!\d))
      | (?P<bare_us>[2-9]\d{2}[2-9]\d{6})(?!\d)
    )
    (?(bare_us)|(?:[ .\-]?(?:\(\d{1,4}\)|\d)){4,18})
    (?![\w/]|[.,:]\d)
    """,
    re.VERBOSE,
)
_NANP_SHAPE = re.compile(r"\(?[2-9]\d{2}\)?[ .-]?[2-9]\d{2}[ .-]\d{4}")
_DATE_SHAPE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}")
_NON_DIGITS = re.compile(r"\D+")
_SEPARATORS = re.compile(r"[ .\-/()]+")
_CURRENCY_BEFORE = re.compile(r"(?:[€$£]|\b(?:eur|euro|usd|chf|gbp))\s*$", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(r"\s*(?:[€$£%]|(?:eur|euro|usd|chf|gbp)\b)", re.IGNORECASE)

# Outcome of validating a candidate.
_INVALID, _VALID, _NEEDS_CONTEXT = 0, 1, 2
# What the words around a candidate say.
_NONE, _WEAK, _CONFIRMED, _VETOED = 0, 1, 2, 3


class PhoneDetector(BaseDetector):
    name = "phone"
    labels = (Label.PHONE,)

    def __init__(self, region: str = "IT", min_digits: int = 6) -> None:
        self.region = region
        self.min_digits = min_digits  # also a scanner gate
        # National numbers of other lengths cannot be valid: skip parsing them.
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        lengths = metadata.general_desc.possible_length if metadata and metadata.general_desc else ()
        self._national_lengths = frozenset(lengths or range(min_digits, 16))
        self._positive = Context(PHONE_WORDS, before=40, after=0)
        # Words too vague to confirm a number, enough to accept a bare US one.
        self._weak = Context(("number", "numero", "text", "num", "n."), before=24, after=0)
        self._negative = Context(NOT_A_PHONE_WORDS, before=48)

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        if digit_count(text) < self.min_digits:
            return found
        for match in _CANDIDATE.finditer(text):
            start, end = match.span()
            context = self._context(text, start, end)
            if context == _VETOED:
                continue  # decided by the words around it: no need to parse anything
            verdict = self._check(text, start, end)
            if verdict == _INVALID and match.group("bare_us") is None:
                groups = group_spans(text, start, end)
                if _card_shaped(groups):
                    continue  # a card number that failed Luhn is not a phone plus change
                for _, w_end in leading_runs(groups, self.min_digits, 15):
                    verdict = self._check(text, start, w_end)
                    if verdict != _INVALID:
                        end = w_end
                        break
            if verdict != _INVALID and not inside_iban_shape(text, start, end):
                finding = self._finding(text, start, end, verdict == _NEEDS_CONTEXT, context)
                if finding is not None:
                    found.append(finding)
        return found

    def _check(self, text: str, start: int, end: int) -> int:
        candidate = text[start:end]
        digits = len(_NON_DIGITS.sub("", candidate))
        if not self.min_digits <= digits <= 15 or _DATE_SHAPE.fullmatch(candidate):
            return _INVALID
        if _CURRENCY_BEFORE.search(text, max(0, start - 6), start) or _CURRENCY_AFTER.match(text, end):
            return _INVALID
        international = candidate[0] == "+" or candidate.startswith("00")
        # National Italian numbers start with 0, 3 or 8 and have known lengths:
        # anything else is not worth parsing as one.
        first_digit = candidate[1] if candidate[0] == "(" else candidate[0]
        if (international or (first_digit in "038" and digits in self._national_lengths)) and _valid(
            candidate, self.region
        ):
            return _VALID
        if _NANP_SHAPE.fullmatch(candidate) is not None and _valid(candidate, "US"):
            return _VALID
        if digits == 10 and candidate.isdigit() and _valid(candidate, "US"):
            return _NEEDS_CONTEXT  # ten bare digits: a US number or any other code
        return _INVALID

    def _context(self, text: str, start: int, end: int) -> int:
        if self._positive.near(text, start, end):
            return _CONFIRMED
        if self._negative.near(text, start, end):
            return _VETOED  # "ordine n. 0212345678": a reference that happens to dial
        return _WEAK if self._weak.near(text, start, end) else _NONE

    def _finding(self, text: str, start: int, end: int, needs_context: bool, context: int) -> Finding | None:
        if context == _CONFIRMED:
            score = 0.9
        elif needs_context:
            if context != _WEAK:
                return None
            score = 0.6
        elif text[start] in "+(" or text.startswith("00", start):
            score = 0.8
        elif any(not c.isdigit() for c in text[start:end]):
            score = 0.7
        else:
            score = 0.55  # a bare digit run: could be any code
        return Finding(Label.PHONE, start, end, score, self.name)


@lru_cache(maxsize=4096)
def _valid(candidate: str, region: str) -> bool:
    """libphonenumber's verdict on ``candidate`` dialled from ``region``.

    Cached per exact candidate: a number is typically repeated in a conversation
    (and quoted back by the agent), and parsing is the costliest step of a scan.
    Separators are dropped first (the parser would drop them anyway, after more
    work), and the number is checked against ``region`` before the costlier
    lookup over every region sharing its country code (Italy shares +39 with
    the Vatican).
    """
    compact = _SEPARATORS.sub("", candidate)
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)


def _card_shaped(groups: list[tuple[int, int]]) -> bool:
    """Groups of four (the last may be shorter), or Amex/Diners 4-6-5 / 4-6-4."""
    sizes = [end - start for start, end in groups]
    if len(sizes) >= 3 and all(size == 4 for size in sizes[:-1]):
        return True
    return sizes in ([4, 6, 5], [4, 6, 4])
