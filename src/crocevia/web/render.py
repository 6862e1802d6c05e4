"""Rendering pages: one Jinja environment per language, and the headers every page carries."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from crocevia.web.i18n import LANGUAGES, js_messages, translations

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "/ui/static/"
_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,  # a misspelt variable fails the page tests instead of rendering blank
    )
    env.policies["ext.i18n.trimmed"] = True
    # newstyle: _("Hi {name}") formats with autoescaped arguments, so a translation cannot inject HTML.
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(static=static_url, languages=LANGUAGES, lang=lang)
    return env


@cache
def _fingerprint(path: str) -> str:
    data = (STATIC / path).read_bytes()
    return hashlib.sha256(data).hexdigest()[:10]


def static_url(path: str) -> str:
    """A URL that changes when the file does, so a browser never runs yesterday's entry module."""
    return f"{STATIC_PREFIX}{path}?v={_fingerprint(path)}"


def content_security_policy(request: Request) -> str:
    # Only our own scripts and styles: no inline script, no CDN. The WebSocket is same-origin; 'self'
    # covers ws: only in newer browsers, so the host is named explicitly.
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if _HOST.match(host) else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"media-src 'self' blob:; connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


def page_headers(request: Request) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(request),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        # Pages carry the CSRF token and personal data: never kept by a shared cache or the back button.
        "Cache-Control": "no-store",
    }


def render(request: Request, template: str, *, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    env = environment(lang)
    html = env.get_template(template).render(request=request, js_messages=js_messages(lang), **context)
    return HTMLResponse(html, status_code=status_code, headers=page_headers(request))
