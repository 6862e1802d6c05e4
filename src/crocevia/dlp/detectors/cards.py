"""Payment card numbers (PAN): issuer range and length, then the Luhn check."""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import luhn

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.context import Context
from crocevia.dlp.detectors.groups import group_spans, leading_runs
from crocevia.dlp.detectors.iban import inside_iban_shape
from crocevia.dlp.detectors.vocab import PAYMENT_CARD_WORDS, REFERENCE_NUMBER_WORDS
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.textinfo import longest_digit_run

# (first prefix, last prefix, allowed lengths). Prefixes are compared on as many
# leading digits as the bound has. Sources: the card schemes' published IIN ranges.
_ISSUER_RANGES: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("51", "55", frozenset({16})),  # Mastercard
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("34", "34", frozenset({15})),  # American Express
    ("37", "37", frozenset({15})),
    ("6011", "6011", frozenset(range(16, 20))),  # Discover
    ("644", "649", frozenset(range(16, 20))),
    ("65", "65", frozenset(range(16, 20))),
    ("300", "305", frozenset(range(14, 20))),  # Diners Club
    ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(14, 20))),
    ("3528", "3589", frozenset(range(16, 20))),  # JCB
    ("2131", "2131", frozenset({15})),  # JCB (legacy 15-digit)
    ("1800", "1800", frozenset({15})),
    ("50", "50", frozenset(range(12, 20))),  # Maestro
    ("56", "69", frozenset(range(12, 20))),  # Maestro, UnionPay (62), RuPay...
    ("2200", "2204", frozenset(range(16, 20))),  # Mir
)

# Digits in groups separated by at most two spaces or dashes. Not glued to a word,
# a decimal separator or a slash, so prices, dates and codes like "IT60X054..." are
# not candidates. Up to 30 digits so a trailing CVV or second number is captured
# and split off afterwards.
_CANDIDATE = re.compile(r"\d(?<![\w.,/-].)(?:[ -]{0,2}\d){11,29}(?![\w/]|[.,]\d)")
_NON_DIGITS = re.compile(r"\D+")


def issuer_matches(number: str) -> bool:
    """Whether ``number`` (digits only) has a known issuer prefix and length."""
    length = len(number)
    return any(length in lengths and low <= number[: len(low)] <= high for low, high, lengths in _ISSUER_RANGES)


@lru_cache(maxsize=4096)
def is_card_number(number: str) -> bool:
    """Issuer range and length plus the Luhn checksum (python-stdnum), cached per number."""
    return 12 <= len(number) <= 19 and issuer_matches(number) and luhn.is_valid(number)


class PaymentCardDetector(BaseDetector):
    name = "payment_card"
    labels = (Label.CREDIT_CARD,)
    min_digit_run = 12

    def __init__(self, score: float = 0.9, context_score: float = 0.99) -> None:
        self.score = score
        self.context_score = context_score
        self._positive = Context(PAYMENT_CARD_WORDS, before=48, after=32)
        self._negative = Context(REFERENCE_NUMBER_WORDS, before=48)

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        if longest_digit_run(text) < 12:
            return found
        for match in _CANDIDATE.finditer(text):
            span = self._card_span(text, *match.span())
            # A mistyped IBAN's digits are not a card (checked last: it is rare).
            if span is not None and not inside_iban_shape(text, *span):
                finding = self._finding(text, *span)
                if finding is not None:
                    found.append(finding)
        return found

    @staticmethod
    def _card_span(text: str, start: int, end: int) -> tuple[int, int] | None:
        """The candidate if it is a card number, else its longest leading groups that are."""
        if is_card_number(_NON_DIGITS.sub("", text[start:end])):
            return start, end
        for w_start, w_end in leading_runs(group_spans(text, start, end), 12, 19):
            if is_card_number(_NON_DIGITS.sub("", text[w_start:w_end])):
                return w_start, w_end
        return None

    def _finding(self, text: str, start: int, end: int) -> Finding | None:
        if self._positive.near(text, start, end):
            return Finding(Label.CREDIT_CARD, start, end, self.context_score, self.name)
        if self._negative.near(text, start, end):
            # A Luhn-valid order or tracking number: one in ten random numbers passes.
            return None
        return Finding(Label.CREDIT_CARD, start, end, self.score, self.name)
