"""E-mail addresses."""

from __future__ import annotations

import re

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.findings import Finding, Label

# Local part without leading dot, a dotted domain, an alphabetic TLD. Not glued to
# a preceding word character so "user:pass@host" in a URL is not half-matched.
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9_%+-][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9])"
)


class EmailDetector(BaseDetector):
    name = "email"
    labels = (Label.EMAIL,)

    def __init__(self, score: float = 0.95) -> None:
        self.score = score

    def detect(self, text: str) -> list[Finding]:
        at = text.find("@")  # the cheapest possible prefilter
        if at < 0:
            return []
        # No address starts more than 64 characters (the longest local part) before
        # the first "@": skip the text before that (the lookbehind still sees it).
        matches = _EMAIL.finditer(text, max(0, at - 64))
        return [Finding(Label.EMAIL, m.start(), m.end(), self.score, self.name) for m in matches]
