"""IPv4 and IPv6 addresses, validated by the ``ipaddress`` standard library."""

from __future__ import annotations

import ipaddress
import re

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.textinfo import longest_digit_run

# Four dotted numbers not part of a longer dotted run (version strings like
# "1.2.3.4.5", prices "1.234.567,00").
_IPV4 = re.compile(r"\d(?<![\w.].)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![\w]|\.\d)")
# Hex groups with at least two colons; ipaddress decides. Times ("14:30:00") and
# MAC addresses have the wrong number of groups and are rejected there.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:|:)(?:[0-9A-Fa-f]{0,4}:){1,7}"
    r"(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\w)"
)


class IpAddressDetector(BaseDetector):
    name = "ip_address"
    labels = (Label.IP_ADDRESS,)

    def __init__(self, score: float = 0.85) -> None:
        self.score = score

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        if longest_digit_run(text) >= 4 and "." in text:
            for match in _IPV4.finditer(text):
                try:
                    ipaddress.IPv4Address(match.group())
                except ValueError:
                    continue
                found.append(Finding(Label.IP_ADDRESS, match.start(), match.end(), self.score, self.name))
        if "::" in text or text.count(":") >= 4:
            for match in _IPV6.finditer(text):
                value = match.group()
                if len(value) < 3 or sum(1 for part in value.split(":") if part) < 2:
                    continue  # "::", "::1"-like fragments of ordinary punctuation
                try:
                    ipaddress.IPv6Address(value)
                except ValueError:
                    continue
                found.append(Finding(Label.IP_ADDRESS, match.start(), match.end(), self.score, self.name))
        return found
