"""Provider webhooks: POST/GET /webhooks/<kind>/<channel public id>.

verify → parse → store (commit) → acknowledge. Only a committed event is acknowledged, so a
crash before commit makes the provider retry instead of losing the message.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from crocevia.api import problems
from crocevia.api.deps import get_runtime
from crocevia.channels.base import ChannelAdapter, WebhookReply, WebhookRequest
from crocevia.channels.registry import get_adapter
from crocevia.errors import PayloadTooLarge
from crocevia.services import channels, ingest

log = logging.getLogger(__name__)
PATH = "/webhooks/{kind}/{public_id}"


MAX_BODY = 1024 * 1024  # bytes; providers' webhooks are a few KiB (media is fetched separately)
_FAST_PATH = re.compile(r"/webhooks/([^/]+)/([^/]+)")
_ALLOWED = frozenset({"GET", "POST"})


def install(app: FastAPI) -> None:
    """Serve provider webhooks, matched before every other route.

    This is the busiest route of the hub. Registered as a plain Starlette route at the head of
    the app's route list, a webhook is matched with one regular expression instead of being
    tried against every API router first, and skips FastAPI's per-request dependency and
    validation machinery (it has none). ``serve_fast`` goes further (see ``CroceviaApp``); the
    route stays for anything the fast lane hands back. Not part of the client API, so not in
    the OpenAPI schema.
    """
    app.router.add_route(PATH, provider_webhook, methods=["GET", "POST"], name="provider_webhook",
                         include_in_schema=False)
    routes = app.router.routes
    routes.insert(0, routes.pop())


async def serve_fast(app: FastAPI, scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer a provider webhook without FastAPI's middleware stack and router; False when this
    request is not one (then the app serves it as any other).

    Why: on the hub's busiest route, the exception middlewares, exit stacks and route matching
    cost about as much as verifying and parsing the webhook. What they would do is done here:
    errors become the same problem+json answers (``problems.response_for``), and the body is
    capped (``MAX_BODY``, 413) before anything reads it, which the stack did not do either.
    """
    match = _FAST_PATH.fullmatch(scope["path"])
    if match is None or scope["method"] not in _ALLOWED:
        return False
    scope["app"] = app
    scope["path_params"] = {"kind": match[1], "public_id": match[2]}
    request = Request(scope, receive)
    try:
        request._body = await _capped_body(request)  # what Request.body() returns once read
        response = await provider_webhook(request)
    except ClientDisconnect:
        return True  # the provider hung up: nobody to answer (it will retry)
    except Exception as exc:
        response = problems.response_for(request, exc)
    await response(scope, receive, send)
    return True


async def _capped_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # raises ClientDisconnect if the provider hangs up
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"the webhook body is larger than {MAX_BODY} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


def _reply(r: WebhookReply) -> Response:
    return Response(content=r.body, status_code=r.status, media_type=r.content_type)


# Adapters are stateless singletons: one dict lookup per webhook. (The registry caches its
# entry-point scan too; an unknown kind in the URL, which anyone can send, is a 404 from it.)
_adapters: dict[str, ChannelAdapter] = {}


def _adapter(kind: str) -> ChannelAdapter:
    adapter = _adapters.get(kind)
    if adapter is None:
        adapter = _adapters[kind] = get_adapter(kind)
    return adapter


async def provider_webhook(request: Request) -> Response:
    # A plain Starlette endpoint (see install): path parameters are read from the request, there
    # is no dependency to solve and nothing to validate (they are plain strings anyway).
    kind: str = request.path_params["kind"]
    public_id: str = request.path_params["public_id"]
    rt = get_runtime(request)
    adapter = _adapter(kind)
    # A cache hit is a dict lookup: only a miss goes to the database, in a worker thread.
    hit = channels.cached_channel(kind, public_id)
    if hit is None:
        hit = await run_in_threadpool(channels.channel_by_public_id, rt, kind, public_id)
    channel, cfg = hit
    req = WebhookRequest(
        method=request.method,
        url=_external_url(request, cfg.webhook_url),
        # Decoded straight from the ASGI scope, without building Starlette's Headers view
        # (the last of repeated headers wins, as before).
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]},
        # Most providers send no query string: Starlette's QueryParams is built only when there is one.
        query=dict(request.query_params) if request.scope.get("query_string") else {},
        body=await request.body(),
    )
    challenge = adapter.handshake(req, cfg)
    if challenge is not None:
        return _reply(challenge)
    adapter.verify(req, cfg)
    events = adapter.parse(req, cfg)
    if events:
        # Returns after the commit (group-committed with concurrent webhooks): only then is it acknowledged.
        await ingest.ingest_async(rt, channel, events)
    return _reply(adapter.ack(req, cfg, events))


def _external_url(request: Request, configured: str) -> str:
    """The URL as the provider called it (Twilio signs it): the configured public URL + query."""
    query = request.scope.get("query_string", b"").decode()  # as Starlette's request.url.query
    return f"{configured}?{query}" if query else configured
