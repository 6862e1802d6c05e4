"""Passwords, PINs and one-time codes given in context.

The span is the secret itself, not the keyword: "la password è Xyz!23" ->
``Xyz!23``. A password is only reported when it looks like one (digits,
symbols or mixed case), so "la password è scaduta" and "password: dimenticata"
are not findings.
"""

from __future__ import annotations

import re

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.textinfo import lowered, lowered_aligned

_FILLER = r"(?:[ \t]+(?!(?:è|e'|is|was|sarà|era)\b)[A-Za-zÀ-ÿ'’]{1,15}){0,5}?"
_VERB_SEP = r"(?:è|e'|é|is|was|sarà|era|will be|sono|are)"

_PASSWORD = re.compile(
    rf"""
    \b(?P<kw>passwords?|passwd|pwd|psw|passcode|passphrase|pass|parola\ d['’]ordine|parola\ chiave)\b
    (?:
        [ \t]*(?P<sym>[:=]|->)                       # password: X   pwd=X
      | {_FILLER}[ \t]*(?P<sep>[:=]|->|{_VERB_SEP}\b:?) # la password del wifi è X
      | [ \t]+(?=\S)                                 # pwd X (the value must look like one)
    )
    [ \t]*["'“«`]?
    (?P<value>[^\s"'”»`]{{3,64}})
    """,
    re.IGNORECASE | re.VERBOSE,
)

_CODE = re.compile(
    rf"""
    \b(?P<kw>otp|pin|codice\ (?:otp|pin|di\ verifica|di\ sicurezza|di\ accesso|di\ conferma
        |di\ autorizzazione|monouso|temporaneo|sms)|verification\ code|security\ code
        |one[- ]time\ (?:code|password|passcode)|2fa\ code|login\ code|auth(?:entication)?\ code
        |access\ code|confirmation\ code)\b
    {_FILLER}[ \t]*(?:[:=]|{_VERB_SEP}\b)?[ \t]*["'“«]?
    (?P<value>\d{{3}}[ -]\d{{3}}|\d{{4,8}})(?![\d,.]\d|\w)
    """,
    re.IGNORECASE | re.VERBOSE,
)

# The same patterns for the lowered text (see textinfo.lowered_aligned).
_PASSWORD_LOWER = re.compile(_PASSWORD.pattern, re.VERBOSE)
_CODE_LOWER = re.compile(_CODE.pattern, re.VERBOSE)

_HINT = re.compile(r"pass|pwd|psw|parola|otp|pin|codice|code")
_SHORT_KEYWORDS = frozenset({"pass"})  # ambiguous alone ("il pass del parcheggio")
_TRAILING = ".,;:]}"


def looks_like_password(value: str) -> bool:
    """Digits, symbols or mixed case: something a person would not write as prose."""
    if len(value) < 4:
        return False
    if value.isdigit():
        return True
    has_lower = any(c.islower() for c in value)
    has_upper = any(c.isupper() for c in value)
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    if not (has_lower or has_upper or has_digit):
        return False  # "******": already masked
    if value.isalpha():
        return has_lower and any(c.isupper() for c in value[1:])  # camelCase: "SuperSegreta"
    return (has_lower + has_upper + has_digit + has_symbol) >= 2


def _trim(value: str) -> str:
    """Drop sentence punctuation glued to the secret ("è Casa2024.")."""
    while value and value[-1] in _TRAILING:
        value = value[:-1]
    if value.endswith(")") and value.count("(") < value.count(")"):
        value = value[:-1]
    return value


class PasswordDetector(BaseDetector):
    name = "password"
    labels = (Label.PASSWORD,)

    def __init__(self, score: float = 0.9, prose_score: float = 0.85) -> None:
        self.score = score
        self.prose_score = prose_score

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        if _HINT.search(lowered(text)) is None:
            return found
        # Case-sensitive patterns on the lowered text when offsets allow (faster);
        # the value itself is always read from the original text.
        lower = lowered_aligned(text)
        password, code, subject = (
            (_PASSWORD_LOWER, _CODE_LOWER, lower) if lower is not None else (_PASSWORD, _CODE, text)
        )
        for match in password.finditer(subject):
            explicit = match.group("sym") is not None
            if not explicit and match.group("kw").lower() in _SHORT_KEYWORDS:
                continue
            start, end = match.span("value")
            value = _trim(text[start:end])
            if not looks_like_password(value):
                continue
            score = self.score if explicit else self.prose_score
            found.append(Finding(Label.PASSWORD, start, start + len(value), score, self.name))
        for match in code.finditer(subject):
            start, end = match.span("value")
            found.append(Finding(Label.PASSWORD, start, end, self.score, self.name))
        return found
