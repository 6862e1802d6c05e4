"""Which customer messages the ticket bot answers, and the words it answers with."""

from __future__ import annotations

import pytest

from crocevia.services import ticket_texts as texts


@pytest.mark.parametrize(("message", "expected"), [
    ("a che punto è il mio ticket?", (True, None)),
    ("Stato della pratica n. 12?", (True, 12)),
    ("what's the status of ticket 123?", (True, 123)),
    ("Any update on ticket #7", (True, 7)),
    ("Avete un tavolo per stasera?", (False, None)),
    ("stato ordine", (False, None)),  # orders belong to the order bot
    ("ticket 5", (False, None)),  # a number alone is not a question
])
def test_status_questions(message: str, expected: tuple[bool, int | None]) -> None:
    assert texts.status_question(message) == expected


@pytest.mark.parametrize(("message", "score"), [("5", 5), (" 4/5 ", 4), ("1!", 1), ("6", None), ("5 stelle", None)])
def test_csat_scores(message: str, score: int | None) -> None:
    assert texts.csat_score(message) == score


def test_labels_follow_the_customers_language_with_italian_as_fallback() -> None:
    assert texts.status_label("pending", "en-GB") == "waiting for your reply"
    assert texts.status_label("pending", "it") == "in attesa di una tua risposta"
    assert texts.language_of("de", None) == "it"
    assert texts.language_of("de", "en") == "en"
