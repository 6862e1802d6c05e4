"""API keys, tokens and private keys -> API_KEY.

Vendor tokens are recognised by their documented prefixes; JWTs by a header
that decodes to JSON with an ``alg``; anything else only when it sits right
after a word like "token" or "api key" and is random-looking (Shannon entropy).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.textinfo import lowered, lowered_aligned

# (detector suffix, pattern, score). Bounded by non-token characters on both sides.
_VENDOR_PATTERNS: tuple[tuple[str, str, float], ...] = (
    ("aws_access_key", r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}", 0.95),
    ("github_token", r"gh[pousr]_[A-Za-z0-9]{36,255}", 0.97),
    ("github_pat", r"github_pat_[A-Za-z0-9_]{22,255}", 0.97),
    ("slack_token", r"xox[baprs]-[A-Za-z0-9-]{10,250}", 0.95),
    ("stripe_live_key", r"(?:sk|rk)_live_[A-Za-z0-9]{16,247}", 0.97),
    ("stripe_test_key", r"(?:sk|rk)_test_[A-Za-z0-9]{16,247}", 0.8),
    ("google_api_key", r"AIza[0-9A-Za-z_\-]{35}", 0.95),
    ("openai_key", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,200}", 0.9),
)
_VENDOR = re.compile(
    r"(?<![\w-])(?:" + "|".join(f"(?P<{name}>{pattern})" for name, pattern, _ in _VENDOR_PATTERNS) + r")(?![\w-])"
)
_VENDOR_SCORES = {name: score for name, _, score in _VENDOR_PATTERNS}
# Literal hints that must be present for a vendor token: one cheap search.
_VENDOR_HINT = re.compile(r"AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox|_live_|_test_|AIza|sk-")

# A whole PEM private key, or the start of one that was cut off (still a leak).
_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s]*)"
)

# Header "eyJ" is base64 for '{"'; the signature may be empty for alg "none".
_JWT = re.compile(r"(?<![\w-])(eyJ[A-Za-z0-9_-]{8,})\.([A-Za-z0-9_-]{4,})\.([A-Za-z0-9_-]*)(?![\w-])")

_SECRET_KEYWORD = re.compile(
    r"""
    \b(?:api[ _-]?key|apikey|x-api-key|secret(?:[ _-]?key)?|client[ _-]?secret|access[ _-]?key(?:[ _-]?id)?
      |access[ _-]?token|auth[ _-]?token|refresh[ _-]?token|token|bearer|authorization
      |key|chiave(?:\ api|\ segreta|\ privata|\ di\ accesso)?|segreto|credential[s]?|credenziali)\b
    (?:[ \t]+[A-Za-zÀ-ÿ'’]{1,12}){0,4}?   # "il token del bot è", "the API key for prod is"
    [ \t]*(?:[:=]|->|è|e'|is)?[ \t]*["'`“]?
    (?P<value>[A-Za-z0-9_\-./+=]{16,512})
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SECRET_KEYWORD_LOWER = re.compile(_SECRET_KEYWORD.pattern, re.VERBOSE)  # for the lowered text
_KEYWORD_HINT = re.compile(r"key|secret|token|bearer|auth|chiave|segret|credenzial|credential")


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def looks_random(value: str, min_entropy: float = 3.3) -> bool:
    """Long, mixing letters and digits, and not a word or a path."""
    value = value.rstrip(".")
    if len(value) < 16 or value.isalpha() or value.isdigit():
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    if "/" in value and value.count("/") > 2:
        return False  # a path or URL fragment
    return shannon_entropy(value) >= min_entropy


def is_jwt_header(segment: str) -> bool:
    """The first JWT segment decodes to a JSON object with an ``alg``."""
    padded = segment + "=" * (-len(segment) % 4)
    try:
        header = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        return False
    return isinstance(header, dict) and "alg" in header


class SecretDetector(BaseDetector):
    name = "secret"
    labels = (Label.API_KEY,)
    min_token = 10  # "-----BEGIN" is the shortest token any of these needs

    def __init__(self, keyword_score: float = 0.8) -> None:
        self.keyword_score = keyword_score

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        if _VENDOR_HINT.search(text) is not None:
            for match in _VENDOR.finditer(text):
                kind = match.lastgroup or "token"
                found.append(Finding(
                    Label.API_KEY, match.start(), match.end(), _VENDOR_SCORES.get(kind, 0.9), f"{self.name}.{kind}"
                ))
        if "-----BEGIN" in text:
            for match in _PEM.finditer(text):
                end = match.start() + len(match.group().rstrip())
                found.append(Finding(Label.API_KEY, match.start(), end, 0.99, f"{self.name}.private_key"))
        if "eyJ" in text:
            for match in _JWT.finditer(text):
                if is_jwt_header(match.group(1)):
                    found.append(Finding(Label.API_KEY, match.start(), match.end(), 0.95, f"{self.name}.jwt"))
        lower = lowered(text)
        if _KEYWORD_HINT.search(lower) is not None:
            # Case-sensitive on the lowered text when offsets allow (faster); the
            # value, whose case matters to its entropy, is read from the original.
            aligned = lowered_aligned(text)
            pattern, subject = (_SECRET_KEYWORD_LOWER, aligned) if aligned is not None else (_SECRET_KEYWORD, text)
            for match in pattern.finditer(subject):
                start, end = match.span("value")
                value = text[start:end]
                if not looks_random(value):
                    continue
                end = start + len(value.rstrip("."))
                found.append(Finding(Label.API_KEY, start, end, self.keyword_score, f"{self.name}.keyword"))
        return found
