"""Detectors made of several regex rules, grouped so a message is scanned fewer times."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crocevia.dlp.base import BaseDetector, RegexDetector
from crocevia.dlp.context import Context
from crocevia.dlp.findings import Finding


class PatternSetDetector(BaseDetector):
    """Several :class:`RegexDetector` rules run as one regex pass.

    The rules' patterns are joined in one alternation, so the text is scanned
    once instead of once per rule; each (rare) match is then re-matched against
    the rules to find whose it is. Plain alternatives rather than named groups:
    named groups stop the regex engine from skipping impossible positions fast.
    Only for rules whose shapes cannot match the same text (an alternation
    reports one alternative per position); rules needing context are better off
    in a :class:`ContextGatedGroup`.
    """

    def __init__(self, name: str, rules: Iterable[RegexDetector]) -> None:
        self.name = name
        self._rules = list(rules)
        flags = {rule.pattern.flags for rule in self._rules}
        if len(flags) != 1:
            raise ValueError(f"{name}: rules must share regex flags")
        if any(rule.group != 0 or rule.context_required for rule in self._rules):
            raise ValueError(f"{name}: rules must report the whole match and not require context")
        self._pattern = re.compile("|".join(rule.pattern.pattern for rule in self._rules), flags.pop())
        self.labels = tuple(dict.fromkeys(label for rule in self._rules for label in rule.labels))
        self.min_digits = min(rule.min_digits for rule in self._rules)
        self.min_digit_run = min(rule.min_digit_run for rule in self._rules)
        self.min_token = min(rule.min_token for rule in self._rules)

    def detect(self, text: str) -> list[Finding]:
        # No per-rule prefilter here: the scanner already skips the call when no
        # rule's gate passes, and a match's own rule is checked below.
        found: list[Finding] = []
        for match in self._pattern.finditer(text):
            start, end = match.span()
            for rule in self._rules:
                own = rule.pattern.match(text, start)
                if own is None or own.end() != end:
                    continue
                if rule.may_match(text):
                    finding = rule.judge(text, own, 0)
                    if finding is not None:
                        found.append(finding)
                break
        return found


class ContextGatedGroup(BaseDetector):
    """Rules that all need context words, skipped together when none is in the text."""

    def __init__(self, name: str, rules: Iterable[RegexDetector]) -> None:
        self.name = name
        self._rules = list(rules)
        if not all(rule.context_required for rule in self._rules):
            raise ValueError(f"{name}: every rule must require context")
        words: list[str] = []
        for rule in self._rules:
            words.extend(rule.context.words)
        self._any_context = Context(words)
        self.labels = tuple(dict.fromkeys(label for rule in self._rules for label in rule.labels))
        self.min_digits = min(rule.min_digits for rule in self._rules)
        self.min_digit_run = min(rule.min_digit_run for rule in self._rules)
        self.min_token = min(rule.min_token for rule in self._rules)

    def detect(self, text: str) -> list[Finding]:
        if not self._any_context.anywhere(text):
            return []
        found: list[Finding] = []
        for rule in self._rules:
            found.extend(rule.detect(text))
        return found
