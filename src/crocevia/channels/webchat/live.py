"""The visitor's WebSocket: frames in (messages, receipts), agent replies and statuses out.

On connect the visitor gets a ``hello`` frame with their history, sent *after* subscribing to
the bus, so nothing committed in between is lost (the widget drops repeats by message id).
Agent messages are pushed when the dispatcher records them as sent (``message.status`` =
sent), which is the moment this channel's ``send`` hands them over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.webchat import visitors
from crocevia.channels.webchat.origins import check_origin
from crocevia.channels.webchat.tokens import VisitorClaims
from crocevia.errors import CroceviaError, NotFound, PermissionDenied, SignatureInvalid
from crocevia.events.bus import Event
from crocevia.runtime import Runtime
from crocevia.services import channels
from crocevia.storage.tables import Channel

log = logging.getLogger(__name__)

MAX_FRAME_CHARS = 16_384
# Close codes the widget understands: 4401 start a new session, 4403/4404 stop retrying.
CLOSE_BAD_TOKEN, CLOSE_ORIGIN, CLOSE_NO_CHANNEL = 4401, 4403, 4404

Send = Callable[[dict[str, Any]], Awaitable[None]]


def frame_request(ws: WebSocket, token: str, body: bytes) -> WebhookRequest:
    """A widget frame as the adapter verifies it: the token as a bearer header, as over HTTP."""
    return WebhookRequest(
        method="WS",
        url=str(ws.url.replace(query="")),  # the token stays out of anything that logs URLs
        headers={"authorization": f"Bearer {token}", "content-type": "application/json",
                 "origin": ws.headers.get("origin", "")},
        query={},
        body=body,
    )


async def serve(ws: WebSocket, public_id: str) -> None:
    rt: Runtime = ws.app.state.runtime
    token = ws.query_params.get("token", "")
    # Accept first, then close with a code: a refused handshake looks like a network error to
    # the browser, and the widget would retry a bad token forever.
    await ws.accept()
    try:
        channel, cfg = await run_in_threadpool(channels.channel_by_public_id, rt, "webchat", public_id)
        check_origin(ws.headers.get("origin"), cfg, rt.settings.public_url, required=True)
        claims = visitors.adapter().visitor(frame_request(ws, token, b""), cfg)
    except (NotFound, PermissionDenied, SignatureInvalid) as exc:
        code = {NotFound: CLOSE_NO_CHANNEL, PermissionDenied: CLOSE_ORIGIN}.get(type(exc), CLOSE_BAD_TOKEN)
        with contextlib.suppress(Exception):
            await ws.send_text(json.dumps({"type": "error", "code": exc.code, "detail": exc.detail}))
            await ws.close(code=code)
        return
    await _session(ws, rt, channel, cfg, claims, token)


async def _session(ws: WebSocket, rt: Runtime, channel: Channel, cfg: ChannelConfig, claims: VisitorClaims,
                   token: str) -> None:
    lock = asyncio.Lock()

    async def send(frame: dict[str, Any]) -> None:
        async with lock:  # the reader's acks and the bus feed share one socket
            await ws.send_text(json.dumps(frame))

    sub = rt.bus.subscribe_queue(channel.workspace_id)
    reader: asyncio.Task[None] | None = None
    try:
        convs = await run_in_threadpool(visitors.conversation_ids, rt, channel, claims.visitor_id)
        history = await run_in_threadpool(visitors.history, rt, channel, claims.visitor_id)
        await send({"type": "hello", "visitor_id": claims.visitor_id,
                    "channel": visitors.widget_info(channel, cfg), "messages": history})
        reader = asyncio.create_task(_read_frames(ws, rt, channel, cfg, token, send))
        while not reader.done():
            getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            frame = await _frame_for(getter.result(), rt, channel, claims.visitor_id, convs)
            if frame is not None:
                await send(frame)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the visitor went away mid-send
    finally:
        rt.bus.unsubscribe_queue(sub)
        if reader is not None:
            reader.cancel()
        with contextlib.suppress(Exception):
            await ws.close()


async def _frame_for(event: Event, rt: Runtime, channel: Channel, visitor_id: str,
                     convs: set[int]) -> dict[str, Any] | None:
    """What this visitor should see of a committed event (usually nothing)."""
    if event.channel_id != channel.id:
        return None
    if event.type == "message.created":
        message = event.data.get("message") or {}
        if not visitors.is_own_message(visitor_id, message):
            return None  # agents' messages are pushed when sent, other visitors' never
        # The visitor's first message opens a conversation: follow it from now on.
        convs.add(int(message["conversation_id"]))
        return {"type": "message", "message": visitors.visitor_view(message, visitor_id)}
    if event.type == "message.status" and event.data.get("conversation_id") in convs:
        message_id = int(event.data["message_id"])
        if event.data.get("status") == "sent":
            view = await run_in_threadpool(visitors.sent_message, rt, channel, visitor_id, message_id)
            return {"type": "message", "message": view} if view else None
        return {"type": "status", "id": message_id, "status": event.data.get("status")}
    return None


async def _read_frames(ws: WebSocket, rt: Runtime, channel: Channel, cfg: ChannelConfig, token: str,
                       send: Send) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            text = await ws.receive_text()
            if len(text) > MAX_FRAME_CHARS:
                await send({"type": "error", "code": "validation_failed", "detail": "frame too large"})
                continue
            try:
                received = await run_in_threadpool(visitors.receive, rt, channel, cfg,
                                                   frame_request(ws, token, text.encode()))
            except SignatureInvalid as exc:  # e.g. the token expired while the chat was open
                await send({"type": "error", "code": exc.code, "detail": exc.detail})
                await ws.close(code=CLOSE_BAD_TOKEN)
                return
            except CroceviaError as exc:
                await send({"type": "error", "code": exc.code, "detail": exc.detail, "field": exc.field,
                            "client_id": _client_id(text)})
                continue
            except Exception:
                log.exception("web chat frame failed", extra={"channel_id": channel.id})
                await send({"type": "error", "code": "internal_error", "detail": "not stored; try again",
                            "client_id": _client_id(text)})
                continue
            for ack in received.acks:
                await send(ack)


def _client_id(text: str) -> str | None:
    """Which widget message an error is about, so the widget can mark it failed."""
    with contextlib.suppress(ValueError, AttributeError):
        value = json.loads(text).get("client_id")
        return value if isinstance(value, str) else None
    return None
