"""Provider webhooks: POST/GET /webhooks/<kind>/<channel public id>.

verify → parse → store (commit) → acknowledge. Only a committed event is acknowledged, so a
crash before commit makes the provider retry instead of losing the message.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from crocevia.api.deps import get_runtime
from crocevia.channels.base import ChannelAdapter, WebhookReply, WebhookRequest
from crocevia.channels.registry import get_adapter
from crocevia.services import channels, ingest

log = logging.getLogger(__name__)
PATH = "/webhooks/{kind}/{public_id}"


def install(app: FastAPI) -> None:
    """Serve provider webhooks, matched before every other route.

    This is the busiest route of the hub. Registered as a plain Starlette route at the head of
    the app's route list, a webhook is matched with one regular expression instead of being
    tried against every API router first, and skips FastAPI's per-request dependency and
    validation machinery (it has none). Errors still go through the app's exception handlers
    (problem+json), as from any route. Not part of the client API, so not in the OpenAPI schema.
    """
    app.router.add_route(PATH, provider_webhook, methods=["GET", "POST"], name="provider_webhook",
                         include_in_schema=False)
    routes = app.router.routes
    routes.insert(0, routes.pop())


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
        query=dict(request.query_params),
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
