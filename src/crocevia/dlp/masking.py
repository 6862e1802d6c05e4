"""Masking findings for display, logs and previews.

* CREDIT_CARD and IBAN keep their layout and the last 4 characters, which is
  what people need to tell two cards or accounts apart:
  ``4242 4242 4242 4242`` -> ``•••• •••• •••• 4242``.
* PASSWORD and API_KEY become a placeholder (``[PASSWORD]``, ``[API_KEY]``).
  Bullets would still leak the secret's length, which shrinks a brute-force
  search, and a pasted PEM key would turn into a wall of bullets.
* Everything else keeps its punctuation and spacing, with every letter and
  digit bulleted: ``mario@example.com`` -> ``•••••@•••••••.•••``.
"""

from __future__ import annotations

from collections.abc import Iterable

from crocevia.dlp.findings import Finding, Label

BULLET = "•"
KEEP_LAST_FOUR = frozenset({Label.CREDIT_CARD, Label.IBAN})
PLACEHOLDER = frozenset({Label.PASSWORD, Label.API_KEY})


def mask_value(value: str, label: str, bullet: str = BULLET) -> str:
    """The masked form of one finding's text."""
    if label in PLACEHOLDER:
        return f"[{label}]"
    keep = 4 if label in KEEP_LAST_FOUR else 0
    chars = list(value)
    for index in range(len(chars) - 1, -1, -1):
        if not chars[index].isalnum():
            continue
        if keep:
            keep -= 1
        else:
            chars[index] = bullet
    return "".join(chars)


def mask_with_spans(
    text: str, findings: Iterable[Finding], bullet: str = BULLET
) -> tuple[str, list[tuple[Finding, int, int]]]:
    """Masked text plus, for each masked finding, its span in the masked text.

    Placeholders change lengths, so callers that show an excerpt around a
    finding need the new offsets. Overlapping findings are masked once, from
    the earliest start; a finding wholly inside an earlier one is absorbed.
    """
    parts: list[str] = []
    spans: list[tuple[Finding, int, int]] = []
    cursor = 0
    length = 0
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.end <= cursor:
            continue
        start = max(finding.start, cursor)
        parts.append(text[cursor:start])
        length += start - cursor
        masked = mask_value(text[start : finding.end], finding.label, bullet)
        parts.append(masked)
        spans.append((finding, length, length + len(masked)))
        length += len(masked)
        cursor = finding.end
    parts.append(text[cursor:])
    return "".join(parts), spans


def mask(text: str, findings: Iterable[Finding], bullet: str = BULLET) -> str:
    """``text`` with every finding masked (see the module docstring for the rules)."""
    return mask_with_spans(text, findings, bullet)[0]
