"""Italian identity documents: passport, identity card (CIE and paper), driving licence.

These numbers have no public checksum and their shapes ("YA1234567") collide with
product codes, so they are reported only when a document word is near.
"""

from __future__ import annotations

from crocevia.dlp.base import RegexDetector
from crocevia.dlp.findings import Label

_DOCUMENT_WORDS = (
    "passaporto", "passaporti", "passport", "passport no", "passport number",
    "carta d'identità", "carta d’identità", "carta di identità", "carta identità",
    "carta d'identita", "carta di identita", "c.i.", "cie", "documento d'identità",
    "documento d’identità", "documento di identità", "documento", "numero documento",
    "n. documento", "identity card", "id card", "identity document",
    "patente", "patente di guida", "driving licence", "driving license",
    "driver's license", "driver license",
)

_PATTERN = (
    r"(?<![\w.,/-])(?:"
    r"[A-Z]{2}\d{5}[A-Z]{2}"  # CIE, electronic identity card: CA12345AB
    r"|[A-Z]{2}[ ]?\d{7}"  # passport YA1234567, paper identity card AA 1234567
    r"|[A-Z]{2}\d{7}[A-Z]"  # driving licence AB1234567C
    r"|U1[A-Z0-9]{7}[A-Z]"  # driving licence, older format U1H12345A6
    r")(?![\w/]|[.,-]\d)"
)


def it_identity_document_detector() -> RegexDetector:
    return RegexDetector(
        "it_identity_document",
        Label.ID_DOCUMENT,
        _PATTERN,
        score=0.85,
        context_score=0.85,  # no checksum: context makes it plausible, not certain
        context=_DOCUMENT_WORDS,
        context_required=True,
        context_before=48,
        context_after=32,
        min_digit_run=5,
    )
