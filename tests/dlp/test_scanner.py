from __future__ import annotations

from collections.abc import Iterator

import pytest

from crocevia.dlp import BaseDetector, Detector, Finding, RegexDetector, Scanner, default_scanner, scan_texts
from crocevia.dlp.resolve import resolve_overlaps


class Fixed(BaseDetector):
    def __init__(self, name: str, *findings: Finding) -> None:
        self.name = name
        self.labels = tuple({f.label for f in findings})
        self._findings = findings

    def detect(self, text: str) -> Iterator[Finding]:
        yield from self._findings


class Broken(BaseDetector):
    name = "broken"
    labels = ("X",)

    def detect(self, text: str) -> Iterator[Finding]:
        raise RuntimeError("plugin bug")


def test_overlap_keeps_the_highest_score_then_most_specific_label() -> None:
    phone = Finding("PHONE", 0, 10, 0.7, "phone")
    vat = Finding("IT_VAT_CODE", 0, 11, 0.95, "vat")
    other = Finding("EMAIL", 20, 30, 0.95, "email")
    assert resolve_overlaps([phone, vat, other]) == [vat, other]
    card = Finding("CREDIT_CARD", 5, 21, 0.9, "card")
    health = Finding("HEALTH", 0, 30, 0.9, "health")
    assert resolve_overlaps([health, card]) == [card]


def test_min_score_and_label_filter() -> None:
    low = Finding("PHONE", 0, 5, 0.3, "p")
    high = Finding("EMAIL", 6, 10, 0.9, "e")
    assert Scanner([Fixed("f", low, high)]).scan("x" * 20) == [high]
    assert Scanner([Fixed("f", low, high)], min_score=0.2).scan("x" * 20) == [low, high]
    assert Scanner([Fixed("f", low, high)], min_score=0.0, labels=["PHONE"]).scan("x" * 20) == [low]


def test_spans_past_the_end_of_the_text_are_dropped() -> None:
    assert Scanner([Fixed("f", Finding("X", 0, 50, 0.9, "f"))]).scan("short") == []


def test_a_failing_detector_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    good = Finding("EMAIL", 0, 3, 0.9, "e")
    scanner = Scanner([Broken(), Fixed("f", good)])
    assert scanner.scan("abcdef") == [good]
    assert "broken" in caplog.text


def test_non_detectors_are_rejected() -> None:
    with pytest.raises(TypeError):
        Scanner([object()])  # type: ignore[list-item]


def test_finding_validation() -> None:
    with pytest.raises(ValueError):
        Finding("X", 5, 5, 0.5, "d")
    with pytest.raises(ValueError):
        Finding("X", 0, 5, 1.5, "d")


def test_builtin_detectors_implement_the_protocol() -> None:
    scanner = default_scanner()
    assert all(isinstance(d, Detector) for d in scanner.detectors)
    labels = {label for d in scanner.detectors for label in d.labels}
    assert labels >= {
        "CREDIT_CARD", "IBAN", "IT_FISCAL_CODE", "IT_VAT_CODE", "ID_DOCUMENT", "EMAIL", "PHONE",
        "IP_ADDRESS", "CRYPTO_WALLET", "PASSWORD", "API_KEY", "HEALTH",
    }


def test_scan_texts_keeps_input_order() -> None:
    result = scan_texts(["niente", "mail a@b.it", "carta 4111111111111111"])
    assert [[f.label for f in found] for found in result] == [[], ["EMAIL"], ["CREDIT_CARD"]]


def test_add_a_python_detector() -> None:
    scanner = Scanner([RegexDetector("ticket", "TICKET", r"\bTCK-\d{4}\b", score=0.8)])
    scanner.add(Fixed("f"))
    assert [(f.label, f.detector) for f in scanner.scan("apri TCK-1234")] == [("TICKET", "ticket")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("La PASSWORD è Casa2024.", [("PASSWORD", "Casa2024")]),
        ("Tampone POSITIVO al Covid, tel 333 123 4567", [("HEALTH", "Tampone POSITIVO"), ("PHONE", "333 123 4567")]),
        ("API KEY: AbCdEf1234567890XyZ9", [("API_KEY", "AbCdEf1234567890XyZ9")]),
    ],
)
def test_same_spans_when_lowering_moves_offsets(text: str, expected: list[tuple[str, str]]) -> None:
    # Keyword patterns run on the lowered text when it keeps every offset; "İ" lowers to
    # two characters, so the prefixed texts take the case-insensitive path on the original.
    for prefix in ("", "İstanbul: ", "İİ "):
        assert len((prefix + text).lower()) != len(prefix + text) or not prefix
        found = default_scanner().scan(prefix + text)
        assert [(f.label, (prefix + text)[f.start : f.end]) for f in found] == expected
