"""E-mail addresses."""

from __future__ import annotations

import re
from collections.abc import Iterator

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

    def detect(self, text: str) -> Iterator[Finding]:
        if "@" not in text:  # the cheapest possible prefilter
            return
        for match in _EMAIL.finditer(text):
            yield Finding(Label.EMAIL, match.start(), match.end(), self.score, self.name)
