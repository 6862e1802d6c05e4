"""Which web pages may run a channel's widget (Origin check) and the CORS answers they need.

The widget runs on the business's site and calls the hub cross-origin. Visitor calls carry a
bearer token, never cookies, so CORS only has to let the widget read answers; *which* sites may
embed the widget is the channel's ``settings.allowed_origins`` (empty: any site). A browser
always sends Origin on cross-origin calls and WebSocket handshakes, so the check binds every
browser; it is not a defence against scripts, which the visitor token covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from crocevia.channels.base import ChannelConfig
from crocevia.errors import PermissionDenied

PREFLIGHT_MAX_AGE = 600


def normalize(origin: str) -> str:
    """scheme://host[:port], lower-case, no trailing slash (how browsers send Origin)."""
    parts = urlsplit(origin.strip())
    if not parts.scheme or not parts.netloc:
        return origin.strip().lower().rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def allowed_origins(cfg: ChannelConfig) -> list[str]:
    raw = cfg.settings.get("allowed_origins") or []
    items: Iterable[str] = raw.split(",") if isinstance(raw, str) else (str(o) for o in raw)
    return [normalize(o) for o in items if o.strip()]


def check_origin(origin: str | None, cfg: ChannelConfig, hub_url: str, *, required: bool) -> None:
    """Refuse (403) a page the channel does not list. The hub's own pages (/demo) always pass."""
    allowed = allowed_origins(cfg)
    if not allowed:
        return
    if not origin:
        if required:
            raise PermissionDenied("this web chat accepts only the sites it lists (no Origin sent)", field="origin")
        return
    if normalize(origin) not in {*allowed, normalize(hub_url)}:
        raise PermissionDenied(f"the web chat is not enabled for {normalize(origin)}", field="origin")


def cors_headers(origin: str | None) -> dict[str, str]:
    """Let the calling page read the answer (the Origin check has already run in the route)."""
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Expose-Headers": "Content-Type"}


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        **cors_headers(origin),
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        # Authorization must be named: a "*" does not cover it.
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
    }
