"""Quality on a small seeded corpus (the benchmark runs the same generator at scale)."""

from __future__ import annotations

import pytest

pytest.importorskip("faker")

from stdnum import iban, luhn
from stdnum.it import codicefiscale

from crocevia.dlp import build_scanner
from crocevia.dlp.corpus import generate_corpus
from crocevia.dlp.metrics import evaluate


def test_corpus_is_reproducible_and_its_gold_values_are_valid() -> None:
    first = generate_corpus(120, seed=7)
    assert first == generate_corpus(120, seed=7)
    assert {s.lang for s in first} == {"it", "en"}
    assert {s.kind for s in first} == {"positive", "hard_negative", "clean"}
    for sample in first:
        for span in sample.spans:
            value = sample.text[span.start : span.end]
            if span.label == "CREDIT_CARD":
                assert luhn.is_valid(value.replace(" ", "").replace("-", ""))
            elif span.label == "IBAN":
                assert iban.is_valid(value)
            elif span.label == "IT_FISCAL_CODE":
                assert codicefiscale.is_valid(value.upper())


def test_micro_f1_on_a_seeded_corpus() -> None:
    corpus = generate_corpus(300, seed=2024)
    scanner = build_scanner(plugins=False)
    predictions = [scanner.scan(sample.text) for sample in corpus]
    result = evaluate([s.spans for s in corpus], predictions)
    micro = result.micro
    report = {label: round(score.f1, 3) for label, score in result.per_label.items()}
    assert micro.f1 >= 0.95, report
    # no label is left behind
    assert all(score.f1 >= 0.8 for score in result.per_label.values()), report
    # hard negatives and clean messages stay clean
    false_alarms = [
        (s.text, [(f.label, s.text[f.start : f.end]) for f in found])
        for s, found in zip(corpus, predictions, strict=True)
        if s.kind != "positive" and found
    ]
    assert len(false_alarms) <= 2, false_alarms


def test_metrics_overlap_rule() -> None:
    from crocevia.dlp.corpus import GoldSpan

    gold = [[GoldSpan("PHONE", 0, 10)], [GoldSpan("EMAIL", 0, 5)], []]
    predicted = [[GoldSpan("PHONE", 2, 12)], [GoldSpan("PHONE", 0, 5)], [GoldSpan("IBAN", 0, 3)]]
    result = evaluate(gold, predicted)
    assert result.per_label["PHONE"].precision == 0.5
    assert result.per_label["PHONE"].recall == 1.0
    assert result.per_label["EMAIL"].recall == 0.0
    assert result.micro.f1 == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
