"""Static files of the UI (CSS, ES modules, icons), served by the app itself: no CDN, no build step."""

from __future__ import annotations

from fastapi import Request, Response
from starlette.staticfiles import StaticFiles

from crocevia.web.render import STATIC

_files = StaticFiles(directory=STATIC)


async def serve_static(path: str, request: Request) -> Response:
    """ETag + ``no-cache``: ES modules import each other by plain URL, so the browser must revalidate
    every file (a cheap 304) rather than mix an old module with a new one after an upgrade."""
    response = await _files.get_response(path, request.scope)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
