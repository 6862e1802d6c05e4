"""The UI's languages: gettext catalogues compiled from ``.po`` in memory (no build step), and the
choice of language for a request: the user's profile, else the browser's Accept-Language, else English.

English is the source language (msgids are English), so it needs no catalogue. To add strings,
write them in a template (``_("...")``) or a JS module (``t("...")``) and run
``python -m crocevia.web.i18n`` to merge them into every ``.po`` file, then translate.
"""

from __future__ import annotations

import gettext
import re
import sys
from collections.abc import Iterable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
CATALOGUES = HERE / "i18n"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# Language code -> its own name (what the language picker shows, in that language).
LANGUAGES: dict[str, str] = {"en": "English", "it": "Italiano"}

# Where UI strings live and how to find them: Jinja templates call _(), JS modules call t().
METHOD_MAP = [("templates/**.html", "jinja2.ext:babel_extract"), ("static/js/**.js", "javascript")]
OPTIONS_MAP = {"templates/**.html": {"trimmed": "true"}, "static/js/**.js": {"parse_template_string": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "t": None}

_QUALITY = re.compile(r"^q=([01](?:\.\d{0,3})?)$")


def po_path(lang: str) -> Path:
    return CATALOGUES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``lang`` (English and unknown languages: the msgids themselves)."""
    if lang == SOURCE_LANGUAGE or lang not in LANGUAGES or not po_path(lang).exists():
        return gettext.NullTranslations()
    buf = BytesIO()
    # Fuzzy entries are guesses a translator has not confirmed: English reads better than a wrong guess.
    write_mo(buf, read_catalogue(lang), use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an Accept-Language header, best first (RFC 9110 §12.5.4)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, *params = [p.strip() for p in part.split(";")]
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params:
            match = _QUALITY.match(param.replace(" ", ""))
            if match:
                quality = float(match.group(1))
        if quality > 0:
            ranked.append((-quality, index, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def supported(tag: str | None) -> str | None:
    """``it-IT`` → ``it``; None when the UI does not speak that language."""
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def pick_language(user_language: str | None, accept_language: str | None) -> str:
    chosen = supported(user_language)
    if chosen:
        return chosen
    for tag in parse_accept_language(accept_language):
        chosen = supported(tag)
        if chosen:
            return chosen
    return SOURCE_LANGUAGE


# -- extraction: which strings the UI uses -------------------------------------------------------
def extract_ui_messages() -> dict[str, list[tuple[str, int]]]:
    """Every msgid in the templates and JS modules, with where it is used."""
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        HERE, METHOD_MAP, OPTIONS_MAP, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append((filename, lineno))
    return found


@cache
def js_msgids() -> frozenset[str]:
    """The strings the JS modules ask for with t(): only these are shipped to the browser."""
    return frozenset(
        msgid for msgid, places in extract_ui_messages().items()
        if any(name.startswith("static") for name, _ in places)
    )


@cache
def js_messages(lang: str) -> dict[str, str]:
    """msgid → translation for the browser; English sends nothing (t() falls back to the msgid)."""
    trans = translations(lang)
    if isinstance(trans, gettext.GNUTranslations):
        return {m: trans.gettext(m) for m in sorted(js_msgids()) if trans.gettext(m) != m}
    return {}


def update_catalogues(languages: Iterable[str] | None = None) -> list[Path]:
    """Merge the current UI strings into each ``.po`` (new ones empty, unused ones obsolete)."""
    template = Catalog(domain=DOMAIN, project="Crocevia")
    for msgid, places in sorted(extract_ui_messages().items()):
        template.add(msgid, locations=places, flags=("python-brace-format",) if "{" in msgid else ())
    written = []
    for lang in languages or [code for code in LANGUAGES if code != SOURCE_LANGUAGE]:
        path = po_path(lang)
        if path.exists():
            catalogue = read_catalogue(lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalogue = Catalog(locale=lang, domain=DOMAIN, project="Crocevia", fuzzy=False)
        catalogue.update(template, no_fuzzy_matching=True, update_header_comment=False)
        with path.open("wb") as f:
            write_po(f, catalogue, width=100, omit_header=False, ignore_obsolete=True)
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    for written_path in update_catalogues(sys.argv[1:] or None):
        print(f"updated {written_path}")
