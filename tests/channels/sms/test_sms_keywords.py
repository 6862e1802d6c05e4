"""Opt-out / opt-in / HELP keywords in an incoming SMS."""

from __future__ import annotations

import pytest

from crocevia.channels.sms.keywords import classify, handled_by_twilio


@pytest.mark.parametrize(
    "body",
    ["STOP", "stop", "Stop.", " STOP ", "STOP!", "stopall", "STOP ALL", "Unsubscribe", "cancel", "END", "quit",
     "revoke", "opt-out", "OPTOUT", "Annulla", "cancella", "DISISCRIVI", "Disiscrivì", "disiscrivimi", "Basta!",
     "ferma", "Revoca", "disdici", "S.T.O.P", "🛑 STOP 🛑"],
)
def test_opt_out(body: str) -> None:
    assert classify(body) == "opt_out"


@pytest.mark.parametrize("body", ["START", "start", "Yes", "YES!", "unstop", "Iscrivi", "iscrivimi", "Riprendi",
                                  "riattiva"])
def test_opt_in(body: str) -> None:
    assert classify(body) == "opt_in"


@pytest.mark.parametrize("body", ["HELP", "help?", "Info", "AIUTO", "aiuto!"])
def test_help(body: str) -> None:
    assert classify(body) == "help"


@pytest.mark.parametrize(
    "body",
    ["", "please stop texting me", "stop the order for tomorrow", "Basta così, grazie", "Sì", "si", "ok",
     "STOPPED", "help me with my booking", "Non voglio annullare", "yes please",
     "STOP " + "x" * 60],
)
def test_only_a_whole_message_keyword_counts(body: str) -> None:
    assert classify(body) is None


def test_twilio_acts_on_english_defaults_but_not_on_italian_words() -> None:
    # Twilio blocks further sends by itself after "STOP"; after "BASTA" only the hub will.
    assert handled_by_twilio("stop") is True
    assert handled_by_twilio("Start") is True
    assert handled_by_twilio("Basta") is False
    assert classify("Basta") == "opt_out"
