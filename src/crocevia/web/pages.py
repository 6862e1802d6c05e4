"""What every server-rendered page does for the signed-in viewer: their language, the boot data
the page's script reads, the navigation section; and the gate of the admin-only pages."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from crocevia.web.render import render
from crocevia.web.session import Viewer, to_login, viewer


def page(request: Request, v: Viewer, template: str, *, status_code: int = 200, section: str = "",
         extra_boot: dict[str, Any] | None = None, **context: Any) -> Response:
    boot = {**v.boot(), **(extra_boot or {})}
    return render(request, template, lang=v.lang, status_code=status_code, boot=boot, viewer=v,
                  user=v.who.user, section=section, **context)


def admin_viewer(request: Request, section: str) -> Viewer | Response:
    """The signed-in admin, or the answer for anyone else: the sign-in page, or 403."""
    v = viewer(request)
    if v is None:
        return to_login(request)
    if not v.is_admin:
        return page(request, v, "forbidden.html", status_code=403, section=section)
    return v
