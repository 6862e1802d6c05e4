"""The UI's Italian catalogue covers every string the templates and scripts show, and the language
of a request is chosen the way the user expects."""

from __future__ import annotations

import re

import pytest

from crocevia.web import i18n

PLACEHOLDER = re.compile(r"\{\{?\w*\}?\}|%\(\w+\)s")


def test_every_ui_string_has_an_italian_translation() -> None:
    used = i18n.extract_ui_messages()
    assert len(used) > 100  # the extraction found the templates and the scripts
    catalogue = i18n.read_catalogue("it")
    missing = [m for m in used if not getattr(catalogue.get(m), "string", "")]
    assert missing == [], f"untranslated: {missing[:10]}"
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert fuzzy == []


def test_the_catalogue_holds_no_strings_the_ui_no_longer_uses() -> None:
    used = set(i18n.extract_ui_messages())
    stale = [m.id for m in i18n.read_catalogue("it") if m.id and m.id not in used]
    assert stale == [], "run `python -m crocevia.web.i18n` to drop them"


def test_translations_keep_every_placeholder() -> None:
    for message in i18n.read_catalogue("it"):
        if message.id and message.string:
            wanted = sorted(PLACEHOLDER.findall(str(message.id)))
            assert sorted(PLACEHOLDER.findall(str(message.string))) == wanted, message.id


def test_no_string_carries_markup() -> None:
    """Jinja marks translations safe (they are ours), so markup in one would reach the page as HTML:
    anything like <token> must come in through an escaped placeholder instead."""
    for message in (m for m in i18n.read_catalogue("it") if m.id):
        assert "<" not in str(message.id) and "<" not in str(message.string), message.id


def test_the_catalogue_compiles_in_memory() -> None:
    italian = i18n.translations("it")
    assert italian.gettext("Sign in") == "Accedi"
    assert italian.gettext("Delivered") == "Consegnato"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
    assert i18n.translations("xx").gettext("Sign in") == "Sign in"


def test_scripts_receive_only_their_own_strings() -> None:
    shipped = i18n.js_messages("it")
    assert shipped["Failed"] == "Non riuscito"
    assert "Skip to main content" not in shipped  # template-only: rendered on the server
    assert i18n.js_messages("en") == {}


@pytest.mark.parametrize(("header", "expected"), [
    ("it-IT,it;q=0.9,en-US;q=0.8,en;q=0.7", ["it-it", "it", "en-us", "en"]),
    ("en;q=0.2, it;q=0.8, de", ["de", "it", "en"]),
    ("fr;q=0, it", ["it"]),
    ("*", []),
    ("", []),
    ("it;q=abc, en", ["it", "en"]),
])
def test_accept_language_is_read_best_first(header: str, expected: list[str]) -> None:
    assert i18n.parse_accept_language(header) == expected


@pytest.mark.parametrize(("profile", "header", "expected"), [
    ("it", "en-US,en", "it"),
    ("en", "it-IT", "en"),
    (None, "it-IT,it;q=0.9", "it"),
    ("", "de-DE, it;q=0.5", "it"),
    ("fr", "es, de", "en"),
    (None, None, "en"),
])
def test_the_language_comes_from_the_profile_then_the_browser(profile: str | None, header: str | None,
                                                              expected: str) -> None:
    assert i18n.pick_language(profile, header) == expected
