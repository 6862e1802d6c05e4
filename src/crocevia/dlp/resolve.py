"""Overlap resolution: one finding per stretch of text."""

from __future__ import annotations

from collections.abc import Iterable

from crocevia.dlp.findings import SPECIFICITY, Finding


def _rank(finding: Finding) -> tuple[float, int, int, int]:
    # Highest score first; on a tie the more specific label (checksummed beats
    # pattern beats phrase), then the longer span, then the earlier one.
    return (
        -finding.score,
        -SPECIFICITY.get(finding.label, 0),
        -(finding.end - finding.start),
        finding.start,
    )


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep the best finding of every overlapping group, sorted by position.

    Greedy by rank: a finding is kept unless it overlaps one already kept.
    Messages hold a handful of findings, so the quadratic check is the cheap one.
    """
    kept: list[Finding] = []
    for finding in sorted(findings, key=_rank):
        if not any(finding.start < k.end and k.start < finding.end for k in kept):
            kept.append(finding)
    kept.sort(key=lambda f: (f.start, f.end))
    return kept
