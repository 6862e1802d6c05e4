"""Who is looking at a page: the browser's session cookie, checked the same way the API checks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from crocevia.api.deps import SESSION_COOKIE, get_runtime
from crocevia.domain.enums import Role
from crocevia.errors import AuthenticationFailed
from crocevia.services import accounts
from crocevia.services.accounts import Authenticated
from crocevia.web.i18n import pick_language

LOGIN_PATH = "/ui/login"


@dataclass(frozen=True)
class Viewer:
    """A signed-in user on a page, with the language the page speaks."""

    who: Authenticated
    lang: str

    @property
    def role(self) -> Role:
        return self.who.actor.role

    @property
    def is_admin(self) -> bool:
        return self.role.can_administer

    @property
    def can_write(self) -> bool:
        return self.role.can_write

    def boot(self) -> dict[str, Any]:
        """What every signed-in page hands its JS: who I am and the token writes must echo."""
        user = self.who.user
        return {
            "me": {"id": user.id, "name": user.name, "email": user.email, "role": user.role,
                   "language": user.language or "",
                   "notifications": bool((user.settings or {}).get("notifications"))},
            "csrf": self.who.csrf_token or "",
            "lang": self.lang,
            "is_admin": self.is_admin,
            "can_write": self.can_write,
        }


def signed_in(request: Request) -> Authenticated | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return accounts.authenticate_session(get_runtime(request), token)
    except AuthenticationFailed:
        return None


def viewer(request: Request) -> Viewer | None:
    who = signed_in(request)
    if who is None:
        return None
    return Viewer(who, pick_language(who.user.language, request.headers.get("accept-language")))


def anonymous_language(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would let a phishing link borrow our login page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    suffix = "" if here == "/" else f"?next={quote(here, safe='')}"
    return RedirectResponse(LOGIN_PATH + suffix, status_code=303)
