"""The detector contract, a base class, and the regex detector most rules are made of.

A detector is anything with a ``name``, the ``labels`` it can emit and a
``detect(text)`` method yielding :class:`Finding` objects. Everything is compiled
once, at construction, because ``detect`` runs on every chat message.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from crocevia.dlp.context import Context
from crocevia.dlp.findings import Finding
from crocevia.dlp.textinfo import digit_count, longest_digit_run, longest_token

Validator = Callable[[str], bool]


@runtime_checkable
class Detector(Protocol):
    """What the :class:`~crocevia.dlp.scanner.Scanner` needs from a detector.

    ``name`` identifies the detector in findings and logs; ``labels`` lists what
    it may report (plain class attributes satisfy both).
    """

    @property
    def name(self) -> str: ...

    @property
    def labels(self) -> tuple[str, ...]: ...

    def detect(self, text: str) -> Iterable[Finding]:
        """Yield the findings in ``text``; offsets are Python str indices."""
        ...


class BaseDetector(ABC):
    """Convenience base class for detectors written in Python.

    The optional gates tell the scanner when the detector cannot match, so it is
    not even called: ``min_digits`` digits in the text, a run of ``min_digit_run``
    digits (separated by at most two of `` .-``), a token of ``min_token``
    characters. The scanner computes these facts once per message.
    """

    name: str = ""
    labels: tuple[str, ...] = ()
    min_digits: int = 0
    min_digit_run: int = 0
    min_token: int = 0

    @abstractmethod
    def detect(self, text: str) -> Iterable[Finding]:
        """Yield the findings in ``text``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {','.join(self.labels)}>"


class RegexDetector(BaseDetector):
    """A regular expression, an optional validator and optional context words.

    * ``validator`` receives the matched text (group ``group``) and rejects look-alikes.
    * ``context`` raises the score to ``context_score``; with ``context_required``
      a match without context is dropped (for formats too generic on their own).
    * ``negative_context`` drops a match when those words are near and no
      positive context is ("ordine", "tracking" before a long number).
    * ``min_digits``, ``min_digit_run``, ``min_token`` skip, without running the
      regex, texts with fewer digits, no run of that many digits, or no token
      (whitespace-separated) that long: cheap facts shared by all detectors.
    """

    def __init__(
        self,
        name: str,
        label: str,
        pattern: str | re.Pattern[str],
        *,
        validator: Validator | None = None,
        score: float = 0.6,
        context: Iterable[str] = (),
        context_score: float | None = None,
        context_required: bool = False,
        negative_context: Iterable[str] = (),
        context_before: int = 48,
        context_after: int = 24,
        group: int | str = 0,
        flags: int = 0,
        min_digits: int = 0,
        min_digit_run: int = 0,
        min_token: int = 0,
    ) -> None:
        self.name = name
        self.labels = (label,)
        self.label = label
        self.pattern = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
        self.validator = validator
        self.score = score
        self.context = Context(context, before=context_before, after=context_after)
        if context_score is None:
            # Context confirms an otherwise plausible match; for a detector that
            # requires context, the base score already assumes it.
            context_score = score if context_required else min(0.99, score + 0.3)
        self.context_score = max(score, context_score)
        self.context_required = context_required
        self.negative_context = Context(negative_context, before=context_before, after=0)
        self.group = group
        self.min_digits = min_digits
        self.min_digit_run = min_digit_run
        self.min_token = min_token
        if context_required and not self.context:
            raise ValueError(f"detector {name!r}: context_required needs context words")

    def detect(self, text: str) -> list[Finding]:
        # Prefilters: cheap facts about the text that every match needs, and a
        # context word somewhere in the text for a detector that needs context.
        # A list, not a generator: most calls find nothing, and an empty list is
        # cheaper to make and to consume than a generator object.
        if not self.may_match(text):
            return []
        if self.context_required and not self.context.anywhere(text):
            return []
        found: list[Finding] = []
        group = self.group
        for match in self.pattern.finditer(text):
            finding = self.judge(text, match, group)
            if finding is not None:
                found.append(finding)
        return found

    def may_match(self, text: str) -> bool:
        return (
            (not self.min_digits or digit_count(text) >= self.min_digits)
            and (not self.min_digit_run or longest_digit_run(text) >= self.min_digit_run)
            and (not self.min_token or longest_token(text) >= self.min_token)
        )

    def judge(self, text: str, match: re.Match[str], group: int | str) -> Finding | None:
        """Validate one match and score it from its context (None: not a finding)."""
        start, end = match.span(group)
        if start < 0 or start == end:
            return None
        if self.validator is not None and not self.validator(match.group(group)):
            return None
        score = self.score
        if self.context and self.context.near(text, start, end):
            score = self.context_score
        elif self.context_required or (self.negative_context and self.negative_context.near(text, start, end)):
            return None
        return Finding(self.label, start, end, score, self.name)
