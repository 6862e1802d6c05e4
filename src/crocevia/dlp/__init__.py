"""Data-leak protection: find cards, IBANs, tax codes, credentials, health data in messages.

    >>> from crocevia.dlp import default_scanner, mask
    >>> text = "la mia carta è 4242 4242 4242 4242"
    >>> findings = default_scanner().scan(text)
    >>> [(f.label, f.start, f.end) for f in findings]
    [('CREDIT_CARD', 15, 34)]
    >>> mask(text, findings)
    'la mia carta è •••• •••• •••• 4242'
"""

from __future__ import annotations

from crocevia.dlp.base import BaseDetector, Detector, RegexDetector
from crocevia.dlp.composite import ContextGatedGroup, PatternSetDetector
from crocevia.dlp.context import Context
from crocevia.dlp.custom import (
    ENTRY_POINT_GROUP,
    CustomDetectorError,
    detector_from_spec,
    entry_point_detectors,
    load_custom_detectors,
)
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.masking import mask, mask_value
from crocevia.dlp.scanner import Scanner, build_scanner, default_scanner, scan_texts

__all__ = [
    "ENTRY_POINT_GROUP",
    "BaseDetector",
    "Context",
    "ContextGatedGroup",
    "CustomDetectorError",
    "Detector",
    "Finding",
    "Label",
    "PatternSetDetector",
    "RegexDetector",
    "Scanner",
    "build_scanner",
    "default_scanner",
    "detector_from_spec",
    "entry_point_detectors",
    "load_custom_detectors",
    "mask",
    "mask_value",
    "scan_texts",
]
