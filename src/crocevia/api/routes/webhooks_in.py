"""Provider webhooks: POST/GET /webhooks/<kind>/<channel public id>.

verify → parse → store (commit) → acknowledge. Only a committed event is acknowledged, so a
crash before commit makes the provider retry instead of losing the message.
"""

from __future__ import annotations

import logging
from functools import cache

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from crocevia.api.deps import get_runtime
from crocevia.channels.base import ChannelAdapter, WebhookReply, WebhookRequest
from crocevia.channels.registry import all_kinds, get_adapter
from crocevia.errors import NotFound
from crocevia.services import channels, ingest

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])


def _reply(r: WebhookReply) -> Response:
    return Response(content=r.body, status_code=r.status, media_type=r.content_type)


# Adapters are stateless singletons; looking one up through the registry scans the installed
# packages' entry points, far too slow to do on every webhook (and an unknown kind in the URL,
# which anyone can send, must not cost a scan each time). Plugins installed later need a restart.
_adapters: dict[str, ChannelAdapter] = {}


@cache
def _known_kinds() -> frozenset[str]:
    return frozenset(all_kinds())


def _adapter(kind: str) -> ChannelAdapter:
    adapter = _adapters.get(kind)
    if adapter is None:
        if kind not in _known_kinds():
            raise NotFound(f"unknown channel kind {kind!r}", field="kind")
        adapter = _adapters[kind] = get_adapter(kind)
    return adapter


@router.api_route("/webhooks/{kind}/{public_id}", methods=["GET", "POST"], include_in_schema=False)
async def provider_webhook(request: Request) -> Response:
    # Path parameters are read from the request rather than declared, which spares FastAPI's
    # per-request parameter validation on the busiest route (they are plain strings anyway).
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
        headers={k.lower(): v for k, v in request.headers.items()},
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
