"""Every error leaves as application/problem+json naming the field; never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crocevia.errors import CroceviaError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, code: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://crocevia.dev/problems/{code}", "title": title, "status": status, "detail": detail,
            "code": code, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_of(e), "detail": _detail_of(e)} for e in exc.errors()] or [
            {"field": "body", "detail": "invalid request"}]
        first = errors[0]
        # 400 when the body as a whole is unusable (not JSON, not an object); 422 for one bad field.
        status = 400 if first["field"] == "body" else 422
        return problem(status, "Invalid input", f"{first['field']}: {first['detail']}", "validation_failed",
                       field=first["field"], errors=errors)

    async def _problem(request: Request, exc: Exception) -> JSONResponse:
        return response_for(request, exc)

    # Registered per type: Starlette serves HTTPException and the app's own errors from one
    # middleware and anything else from another (the outermost).
    for handled in (CroceviaError, StarletteHTTPException, Exception):
        app.add_exception_handler(handled, _problem)


def unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered with a 500 that shows none."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal error", "something went wrong on our side; it has been logged", "internal_error")


def response_for(request: Request, exc: Exception) -> JSONResponse:
    """What the app's exception handlers answer for ``exc``, for a route served outside FastAPI's
    stack (the provider-webhook fast lane, api/routes/webhooks_in.py)."""
    if isinstance(exc, CroceviaError):
        return JSONResponse(exc.to_problem(), status_code=exc.status, media_type=PROBLEM)
    if isinstance(exc, StarletteHTTPException):
        return problem(exc.status_code, "HTTP error", str(exc.detail), f"http_{exc.status_code}")
    return unexpected(request, exc)


_SOURCES = ("body", "query", "path", "header", "cookie")


def _field_of(error: Any) -> str:
    """The field a validation error is about, as the client named it ("items.0.title").

    A JSON syntax error's location holds a character offset, not a field: it is the body's fault.
    """
    if error.get("type") == "json_invalid":
        return "body"
    loc = [str(p) for p in error.get("loc", ())]
    source = loc[0] if loc and loc[0] in _SOURCES else "body"
    rest = loc[1:] if loc and loc[0] in _SOURCES else loc
    return ".".join(rest) or source


def _detail_of(error: Any) -> str:
    if error.get("type") == "json_invalid":
        where = error.get("loc", ("body", 0))[-1]
        return f"the body is not valid JSON (error near character {where})"
    return str(error.get("msg", "invalid value"))
