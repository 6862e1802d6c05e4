"""National identification numbers that python-stdnum validates -> ID_DOCUMENT.

Formats with a strong checksum and a distinctive shape (Spanish DNI/NIE, French
NIR, Swiss AHV) are reported on their own. Plain 9-11 digit numbers whose
checksum passes one random number in ten (German IdNr, Dutch BSN, Polish PESEL,
Belgian NN, US SSN) are reported only next to their name, or every long number
in a chat would be an "identity document".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stdnum.be import nn as be_nn
from stdnum.ch import ssn as ch_ssn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.nl import bsn as nl_bsn
from stdnum.pl import pesel as pl_pesel
from stdnum.us import ssn as us_ssn

from crocevia.dlp.base import Detector, RegexDetector
from crocevia.dlp.composite import ContextGatedGroup, PatternSetDetector
from crocevia.dlp.findings import Label

# Not glued to a word or another number. The check sits after the first character
# (it looks two back) so every pattern starts with a character class, which lets
# the regex engine skip impossible positions quickly.
_B = r"(?<![\w.,/-].)"
_E = r"(?![\w/]|[.,-]\d)"

_ID_WORDS = ("documento", "document", "id", "identità", "identity", "carta d'identità")

# UK National Insurance number: no checksum exists, python-stdnum has no module for
# it, so the format rules from HMRC's manual are the validator.
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NINO_PATTERN = re.compile(
    r"([A-CEGHJ-PR-TW-Z]" + _B + r"[A-CEGHJ-NPR-TW-Z])[ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D]" + _E
)


def is_nino(value: str) -> bool:
    return value[:2].upper() not in _NINO_BAD_PREFIXES


def national_id_rules() -> list[RegexDetector]:
    """One rule per identifier (each usable as a detector on its own)."""
    label = Label.ID_DOCUMENT
    return [
        RegexDetector(
            "id_es_dni", label, r"\d" + _B + r"\d{7}[ -]?[A-Z]" + _E, validator=es_dni.is_valid,
            score=0.85, context=(*_ID_WORDS, "dni", "nif"), context_score=0.95,
            min_digit_run=8,
        ),
        RegexDetector(
            "id_es_nie", label, r"[XYZ]" + _B + r"[ -]?\d{7}[ -]?[A-Z]" + _E, validator=es_nie.is_valid,
            score=0.85, context=(*_ID_WORDS, "nie", "nif"), context_score=0.95,
            min_digit_run=7,
        ),
        RegexDetector(
            "id_fr_nir", label,
            r"[12]" + _B + r"[ ]?\d{2}[ ]?(?:0[1-9]|1[0-2]|[2-9]\d)[ ]?(?:\d{2}|2[AB])[ ]?\d{3}[ ]?\d{3}[ ]?\d{2}" + _E,
            validator=fr_nir.is_valid, score=0.8,
            context=(*_ID_WORDS, "nir", "sécurité sociale", "securite sociale", "insee", "carte vitale"),
            context_score=0.95, min_digit_run=13,
        ),
        RegexDetector(
            "id_gb_nino", label, _NINO_PATTERN, validator=is_nino, score=0.75,
            context=("nino", "national insurance", "ni number", "ni no", "insurance number"),
            context_score=0.95,
            min_digit_run=6,
        ),
        RegexDetector(
            "id_ch_ahv", label, r"7" + _B + r"56[.]?\d{4}[.]?\d{4}[.]?\d{2}" + _E, validator=ch_ssn.is_valid,
            score=0.85, context=("ahv", "avs", "avs/ahv", "sozialversicherungsnummer"), context_score=0.95,
            min_digit_run=13,
        ),
        RegexDetector(
            "id_de_idnr", label, r"\d" + _B + r"\d[ ]?\d{3}[ ]?\d{3}[ ]?\d{3}" + _E, validator=de_idnr.is_valid,
            score=0.9, context_required=True,
            context=("steuer-id", "steuerid", "steuer id", "idnr", "identifikationsnummer",
                     "steueridentifikationsnummer", "tax id", "german tax id"),
            min_digit_run=11,
        ),
        RegexDetector(
            "id_nl_bsn", label, r"\d" + _B + r"\d{3}[. ]?\d{2}[. ]?\d{3}" + _E, validator=nl_bsn.is_valid,
            score=0.9, context_required=True,
            context=("bsn", "burgerservicenummer", "sofinummer", "sofi-nummer", "citizen service number"),
            min_digit_run=9,
        ),
        RegexDetector(
            "id_pl_pesel", label, r"\d" + _B + r"\d{10}" + _E, validator=pl_pesel.is_valid,
            score=0.9, context_required=True, context=("pesel",),
            min_digit_run=11,
        ),
        RegexDetector(
            "id_be_nn", label, r"\d" + _B + r"\d[.]?\d{2}[.]?\d{2}[-. ]?\d{3}[.]?\d{2}" + _E,
            validator=be_nn.is_valid, score=0.9, context_required=True,
            context=("rijksregisternummer", "rijksregister", "numéro national", "numero national",
                     "registre national", "national number", "insz"),
            min_digit_run=11,
        ),
        RegexDetector(
            "id_us_ssn", label, r"\d" + _B + r"\d{2}[- ]?\d{2}[- ]?\d{4}" + _E, validator=us_ssn.is_valid,
            score=0.9, context_required=True, context=("ssn", "social security", "social security number"),
            min_digit_run=9,
        ),
    ]


def national_id_detectors(extra_context_rules: Iterable[RegexDetector] = ()) -> list[Detector]:
    """The rules grouped for speed: distinctive shapes in one regex pass, the
    context-only ones (plus ``extra_context_rules``) behind a single check for
    any of their context words."""
    rules = national_id_rules()
    standalone = [rule for rule in rules if not rule.context_required]
    gated = [rule for rule in rules if rule.context_required]
    gated.extend(extra_context_rules)
    return [PatternSetDetector("national_id", standalone), ContextGatedGroup("id_in_context", gated)]
