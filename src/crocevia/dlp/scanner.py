"""The scanner: runs a set of detectors over a text and resolves overlaps."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from crocevia.dlp.base import Detector
from crocevia.dlp.custom import entry_point_detectors, load_custom_detectors
from crocevia.dlp.detectors import builtin_detectors
from crocevia.dlp.findings import Finding
from crocevia.dlp.resolve import resolve_overlaps
from crocevia.dlp.textinfo import digit_count, longest_digit_run, longest_token

log = logging.getLogger(__name__)

DEFAULT_MIN_SCORE = 0.5


class Scanner:
    """Holds detectors; ``scan(text)`` returns non-overlapping findings by position.

    Findings scoring below ``min_score`` are dropped; ``labels`` restricts the
    output to some labels (``None``: all). A detector that raises is logged and
    skipped for that message, so one faulty plugin cannot stop the scan.
    """

    def __init__(
        self,
        detectors: Iterable[Detector] = (),
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        labels: Iterable[str] | None = None,
    ) -> None:
        self._detectors: list[Detector] = []
        # (detector, its bound detect, min_digits, min_digit_run, min_token): optional gates read once.
        self._gated: list[tuple[Detector, Callable[[str], Iterable[Finding]], int, int, int]] = []
        self.min_score = min_score
        self.labels = frozenset(labels) if labels is not None else None
        for detector in detectors:
            self.add(detector)

    @property
    def detectors(self) -> tuple[Detector, ...]:
        return tuple(self._detectors)

    def add(self, detector: Detector) -> None:
        if not isinstance(detector, Detector):
            raise TypeError(f"{detector!r} does not implement the Detector protocol")
        self._detectors.append(detector)
        self._gated.append(
            (
                detector,
                detector.detect,
                int(getattr(detector, "min_digits", 0) or 0),
                int(getattr(detector, "min_digit_run", 0) or 0),
                int(getattr(detector, "min_token", 0) or 0),
            )
        )

    def scan(self, text: str) -> list[Finding]:
        if not text:
            return []
        size = len(text)
        digits, run, token = digit_count(text), longest_digit_run(text), longest_token(text)
        found: list[Finding] = []
        for detector, detect, min_digits, min_run, min_token in self._gated:
            if min_digits > digits or min_run > run or min_token > token:
                continue  # cannot match: skip the call altogether
            try:
                found.extend(detect(text))
            except Exception:
                log.exception("DLP detector %r failed on a message; skipped", getattr(detector, "name", detector))
        if not found:
            return found
        labels = self.labels
        found = [
            f
            for f in found
            if f.score >= self.min_score and f.end <= size and (labels is None or f.label in labels)
        ]
        if len(found) > 1:
            return resolve_overlaps(found)
        return found

    def scan_many(self, texts: Iterable[str]) -> list[list[Finding]]:
        return [self.scan(text) for text in texts]


def build_scanner(
    custom: str | Path | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    *,
    plugins: bool = True,
    min_score: float = DEFAULT_MIN_SCORE,
    labels: Iterable[str] | None = None,
    phone_region: str = "IT",
) -> Scanner:
    """Built-in detectors, plus data-declared ones (``custom``) and entry-point plugins."""
    detectors: list[Detector] = builtin_detectors(phone_region=phone_region)
    if custom is not None:
        detectors.extend(load_custom_detectors(custom))
    if plugins:
        detectors.extend(entry_point_detectors())
    return Scanner(detectors, min_score=min_score, labels=labels)


@lru_cache(maxsize=1)
def default_scanner() -> Scanner:
    """The shared scanner: built-in detectors plus installed plugins, built once."""
    return build_scanner()


def scan_texts(texts: list[str]) -> list[list[Finding]]:
    """Scan each text with the default scanner (the function the HTTP API calls)."""
    scanner = default_scanner()
    return [scanner.scan(text) for text in texts]
