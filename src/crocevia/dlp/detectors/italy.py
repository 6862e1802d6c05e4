"""Italian tax identifiers: codice fiscale (persons) and partita IVA."""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum.it import codicefiscale, iva

from crocevia.dlp.base import BaseDetector, RegexDetector
from crocevia.dlp.context import Context
from crocevia.dlp.detectors.vocab import REFERENCE_NUMBER_WORDS
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.textinfo import longest_digit_run

# 16 characters: surname and name letters, birth year, month letter, day (+40 for
# women), municipality code, check letter. Digits may be swapped for letters
# LMNPQRSTUV (omocodia), hence the wider classes.
_CF_PATTERN = re.compile(
    r"[A-Z](?<![^\W_].)[A-Z]{5}[\dLMNPQRSTUV]{2}[ABCDEHLMPRST][\dLMNPQRSTUV]{2}"
    r"[A-Z][\dLMNPQRSTUV]{3}[A-Z](?![^\W_])",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def is_codice_fiscale(value: str) -> bool:
    """python-stdnum's check (check letter, date, omocodia), cached per value."""
    return codicefiscale.is_valid(value.upper())


@lru_cache(maxsize=4096)
def is_partita_iva(digits: str) -> bool:
    """python-stdnum's check (office code, Luhn check digit), cached per value."""
    return iva.is_valid(digits)


def codice_fiscale_detector() -> RegexDetector:
    return RegexDetector(
        "it_codice_fiscale",
        Label.IT_FISCAL_CODE,
        _CF_PATTERN,
        validator=is_codice_fiscale,
        score=0.95,
        context=("codice fiscale", "cod. fisc.", "c.f.", "cf", "fiscal code", "tax code"),
        context_score=0.99,
        # One 16-character token; omocodia may turn digits into letters, but only
        # a few in practice.
        min_digits=4,
        min_token=16,
    )


# Eleven digits, optionally with the upper-case "IT" VAT prefix (kept in the span).
_VAT_PATTERN = re.compile(r"(?:I(?<![\w.,/-].)T[ ]?\d|\d(?<![\w.,/-].))\d{10}(?![\w/]|[.,]\d)")
_VAT_WORDS = (
    "p.iva", "p. iva", "piva", "p.i.", "partita iva", "partita i.v.a.", "iva", "vat",
    "vat number", "vat id", "vat no", "codice fiscale", "c.f.", "cf", "azienda", "ditta",
    "società", "company", "fatturazione", "billing",
)


class PartitaIvaDetector(BaseDetector):
    """Partita IVA: 7-digit company number, 3-digit office code, Luhn check digit.

    python-stdnum's check passes about 1% of random 11-digit numbers, so a bare
    number scores lower than one introduced by "P.IVA" or written as "IT...".
    """

    name = "it_partita_iva"
    labels = (Label.IT_VAT_CODE,)
    min_digit_run = 11

    def __init__(self, score: float = 0.6, context_score: float = 0.95) -> None:
        self.score = score
        self.context_score = context_score
        self._positive = Context(_VAT_WORDS, before=40, after=0)
        self._negative = Context(REFERENCE_NUMBER_WORDS, before=48)

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        if longest_digit_run(text) < 11:
            return found
        for match in _VAT_PATTERN.finditer(text):
            value = match.group()
            digits = value[-11:]
            if not is_partita_iva(digits):
                continue
            start, end = match.span()
            if len(value) > 11 or self._positive.near(text, start, end):
                score = self.context_score
            elif self._negative.near(text, start, end):
                continue
            else:
                score = self.score
            found.append(Finding(Label.IT_VAT_CODE, start, end, score, self.name))
        return found
