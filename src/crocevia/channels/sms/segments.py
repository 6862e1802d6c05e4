"""How many SMS segments a text costs: GSM-7 vs UCS-2 (GSM 03.38), 160/153 and 70/67.

A single SMS carries 140 bytes: 160 GSM-7 septets or 70 UCS-2 code units. A longer text is
split and each part loses room to the concatenation header (6 bytes), leaving 153 septets or
67 code units. One character outside GSM 03.38 (any emoji, "È", "ó", curly quotes) turns the
whole message into UCS-2. Twilio bills per segment: https://www.twilio.com/docs/glossary/what-sms-character-limit
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet, in table order. ESC (0x1B) is left out: it only introduces the
# extension table and is never a character a person types.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table: each costs two septets (ESC + code).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7 = 160
MULTI_GSM7 = 153
SINGLE_UCS2 = 70
MULTI_UCS2 = 67


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    segments: int
    chars: int  # characters as a person counts them (code points)
    units: int  # septets (GSM-7, extension chars count 2) or UTF-16 code units (UCS-2)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _pack(sizes: list[int], single: int, multi: int) -> int:
    """Segments needed; a character never straddles two segments (escape pairs, surrogates)."""
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return segments


def count_segments(text: str) -> SegmentInfo:
    """Encoding and segment count of ``text`` as an SMS (an empty text needs 0 segments)."""
    if is_gsm7(text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SegmentInfo("GSM-7", _pack(sizes, SINGLE_GSM7, MULTI_GSM7), len(text), sum(sizes))
    # Characters beyond the Basic Multilingual Plane (most emoji) need a surrogate pair.
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SegmentInfo("UCS-2", _pack(sizes, SINGLE_UCS2, MULTI_UCS2), len(text), sum(sizes))
