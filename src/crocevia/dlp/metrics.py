"""Span-level precision, recall and F1 for labelled corpora.

A predicted span is correct when a gold span with the same label overlaps it;
a gold span is found when a predicted span with the same label overlaps it.
Precision counts predictions, recall counts gold spans, so one long prediction
covering two gold spans is one correct prediction that finds two gold spans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Span(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


@dataclass
class LabelScore:
    gold: int = 0
    predicted: int = 0
    gold_found: int = 0
    predicted_correct: int = 0

    @property
    def precision(self) -> float:
        return self.predicted_correct / self.predicted if self.predicted else (1.0 if not self.gold else 0.0)

    @property
    def recall(self) -> float:
        return self.gold_found / self.gold if self.gold else (1.0 if not self.predicted else 0.0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: LabelScore) -> None:
        self.gold += other.gold
        self.predicted += other.predicted
        self.gold_found += other.gold_found
        self.predicted_correct += other.predicted_correct


@dataclass
class Evaluation:
    per_label: dict[str, LabelScore] = field(default_factory=dict)

    @property
    def micro(self) -> LabelScore:
        total = LabelScore()
        for score in self.per_label.values():
            total.add(score)
        return total

    def micro_over(self, labels: Iterable[str]) -> LabelScore:
        total = LabelScore()
        for label in labels:
            total.add(self.per_label.get(label, LabelScore()))
        return total


def _overlaps(a: Span, b: Span) -> bool:
    return a.label == b.label and a.start < b.end and b.start < a.end


def evaluate(
    gold: Sequence[Sequence[Span]],
    predicted: Sequence[Sequence[Span]],
    labels: Iterable[str] | None = None,
) -> Evaluation:
    """Compare predictions with gold spans, message by message.

    ``labels`` restricts scoring to those labels (predictions of other labels are
    ignored); by default every label seen in either side counts.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must have one entry per message")
    keep = set(labels) if labels is not None else None
    result = Evaluation()
    if keep is not None:
        for label in keep:
            result.per_label[label] = LabelScore()
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        g = [s for s in gold_spans if keep is None or s.label in keep]
        p = [s for s in predicted_spans if keep is None or s.label in keep]
        for span in g:
            score = result.per_label.setdefault(span.label, LabelScore())
            score.gold += 1
            score.gold_found += any(_overlaps(span, other) for other in p)
        for span in p:
            score = result.per_label.setdefault(span.label, LabelScore())
            score.predicted += 1
            score.predicted_correct += any(_overlaps(span, other) for other in g)
    return result
