"""The widget's HTTP and WebSocket endpoints, the widget files and the /demo page.

    GET  /widget.js, /widget.css            the widget (static files in this package)
    POST /webchat/<channel>/session         a visitor token (anonymous or verified customer)
    GET  /webchat/<channel>/messages        this visitor's history
    POST /webchat/<channel>/messages        a frame (message or receipt), idempotent by client_id
    WS   /webchat/<channel>/ws?token=...    live both ways (see live.py)
    GET  /demo                              a fake restaurant site embedding the demo channel

Errors leave as problem+json *with* CORS headers, so the widget on another site can read them
(the app-wide handler would answer without, and the browser would hide the reason).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Coroutine
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from crocevia.api.deps import get_runtime
from crocevia.api.problems import PROBLEM
from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.webchat import demo, live, visitors
from crocevia.channels.webchat.origins import check_origin, cors_headers, preflight_headers
from crocevia.channels.webchat.tokens import issue_token, max_age_seconds, new_visitor_claims
from crocevia.errors import CroceviaError, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import channels
from crocevia.storage.tables import Channel

STATIC = Path(__file__).parent / "static"
MAX_BODY = 32_768


class WidgetRoute(APIRoute):
    """Adds CORS headers to every answer, errors included."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except CroceviaError as exc:
                response = JSONResponse(exc.to_problem(), status_code=exc.status, media_type=PROBLEM)
            response.headers.update(cors_headers(request.headers.get("origin")))
            return response

        return route


router = APIRouter(include_in_schema=False)
_widget_api = APIRouter(route_class=WidgetRoute, tags=["webchat"])


# -- helpers --------------------------------------------------------------------------------
async def _channel(
    request: Request, public_id: str, *, origin_required: bool
) -> tuple[Runtime, Channel, ChannelConfig]:
    rt = get_runtime(request)
    channel, cfg = await run_in_threadpool(channels.channel_by_public_id, rt, "webchat", public_id)
    check_origin(request.headers.get("origin"), cfg, rt.settings.public_url, required=origin_required)
    return rt, channel, cfg


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"body larger than {MAX_BODY} bytes", field="body")
    return body


async def _as_webhook(request: Request) -> WebhookRequest:
    return WebhookRequest(
        method=request.method,
        url=str(request.url.replace(query="")),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=await _body(request),
    )


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValidationFailed(f"{key} must be a string", field=key)


# -- the widget API -------------------------------------------------------------------------
@_widget_api.options("/webchat/{public_id}/{endpoint}")
async def preflight(public_id: str, endpoint: str, request: Request) -> Response:
    await _channel(request, public_id, origin_required=True)
    return Response(status_code=204, headers=preflight_headers(request.headers.get("origin", "")))


@_widget_api.post("/webchat/{public_id}/session")
async def open_session(public_id: str, request: Request) -> dict[str, Any]:
    """A new visitor token. Optional JSON: name, email, and user_id + user_hash to be recognised."""
    _, channel, cfg = await _channel(request, public_id, origin_required=True)
    raw = await _body(request)
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise ValidationFailed("body must be JSON", field="body") from exc
    if not isinstance(body, dict):
        raise ValidationFailed("body must be a JSON object", field="body")
    claims = new_visitor_claims(cfg, name=_optional_str(body, "name"), email=_optional_str(body, "email"),
                                user_id=_optional_str(body, "user_id"),
                                given_hash=_optional_str(body, "user_hash"))
    return {"visitor_id": claims.visitor_id, "token": issue_token(cfg, claims),
            "expires_in": max_age_seconds(cfg), "verified": claims.user_id is not None,
            "channel": visitors.widget_info(channel, cfg)}


@_widget_api.get("/webchat/{public_id}/messages")
async def list_messages(public_id: str, request: Request) -> dict[str, Any]:
    rt, channel, cfg = await _channel(request, public_id, origin_required=False)
    claims = visitors.adapter().visitor(await _as_webhook(request), cfg)
    items = await run_in_threadpool(visitors.history, rt, channel, claims.visitor_id)
    return {"visitor_id": claims.visitor_id, "channel": visitors.widget_info(channel, cfg), "messages": items}


@_widget_api.post("/webchat/{public_id}/messages")
async def post_frame(public_id: str, request: Request) -> dict[str, Any]:
    """A visitor frame over plain HTTP (the widget's fallback when its WebSocket is down)."""
    rt, channel, cfg = await _channel(request, public_id, origin_required=False)
    received = await run_in_threadpool(visitors.receive, rt, channel, cfg, await _as_webhook(request))
    return {"acks": received.acks}


router.include_router(_widget_api)


@router.websocket("/webchat/{public_id}/ws")
async def visitor_socket(ws: WebSocket, public_id: str) -> None:
    await live.serve(ws, public_id)


# -- the widget's files and the demo page ---------------------------------------------------
@cache
def _static(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get("/widget.js")
def widget_js() -> Response:
    return Response(_static("widget.js"), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})


@router.get("/widget.css")
def widget_css() -> Response:
    return Response(_static("widget.css"), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})


@router.get("/demo", response_class=HTMLResponse)
async def demo_page(request: Request) -> HTMLResponse:
    public_id = await run_in_threadpool(demo.demo_channel_public_id, get_runtime(request))
    if public_id is None:
        return HTMLResponse(_static("demo-missing.html").decode(), status_code=404)
    page = _static("demo.html").decode().replace("{{CHANNEL}}", html.escape(public_id, quote=True))
    return HTMLResponse(page)
