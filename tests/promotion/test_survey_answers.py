"""How a customer's reply in chat is read as a CSAT (1–5) or NPS (0–10) score, in Italian and English."""

from __future__ import annotations

import pytest

from crocevia.services.surveys import parse_score, score_of


@pytest.mark.parametrize(("kind", "text", "score"), [
    ("nps", "9", 9), ("nps", "nove", 9), ("nps", "Nove!", 9), ("nps", "10/10", 10), ("nps", "8 su 10", 8),
    ("nps", "7 out of 10", 7), ("nps", "zero", 0), ("nps", "ten", 10), ("nps", "direi 8", 8), ("nps", "dieci", 10),
    ("csat", "5", 5), ("csat", "cinque", 5), ("csat", "4/5", 4), ("csat", "⭐⭐⭐⭐", 4), ("csat", "three", 3),
    ("csat", "tre stelle", 3),
])
def test_scores_are_understood(kind: str, text: str, score: int) -> None:
    assert parse_score(kind, text) == score


@pytest.mark.parametrize(("kind", "text"), [
    ("nps", "11"), ("nps", "8/5"), ("csat", "6"), ("csat", "0"), ("csat", "9/10"),
    ("nps", "ordine 12345 e 2 pizze"),  # two numbers: not an answer
    ("nps", "sei stato davvero molto gentile"),  # "sei" is "you are" in a sentence, not six
    ("nps", "Avete un tavolo per stasera alle otto e mezza per quattro?"),
    ("nps", ""), ("csat", "grazie"),
])
def test_other_messages_are_not_scores(kind: str, text: str) -> None:
    assert parse_score(kind, text) is None


def test_buttons_carry_the_score() -> None:
    assert parse_score("csat", "Ottima", "csat:5") == 5
    assert parse_score("csat", "x", "nps:9") is None
    assert parse_score("csat", "x", "csat:9") is None


def test_csat_and_nps_formulas() -> None:
    assert score_of("csat", [5, 4, 3, 1]) == 50.0  # share of 4–5
    assert score_of("nps", [10, 9, 8, 7, 6, 0]) == 0.0  # 2 promoters − 2 detractors of 6
    assert score_of("nps", [10, 10, 9, 3]) == 50.0
    assert score_of("nps", []) is None
