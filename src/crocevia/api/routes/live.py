"""The agent's live feed: a WebSocket of committed events the agent may see."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from crocevia.api.deps import SESSION_COOKIE
from crocevia.errors import CroceviaError
from crocevia.events.bus import Event
from crocevia.runtime import Runtime
from crocevia.services import accounts, conversations
from crocevia.services.actor import Actor

router = APIRouter()
RESYNC = 4008  # "you missed events: reconnect and reload"


@router.websocket("/api/v1/live")
async def live(ws: WebSocket) -> None:
    rt: Runtime = ws.app.state.runtime
    token = ws.cookies.get(SESSION_COOKIE)
    bearer = ws.query_params.get("token")
    try:
        if bearer:
            who = await run_in_threadpool(accounts.authenticate_token, rt, bearer)
        elif token:
            who = await run_in_threadpool(accounts.authenticate_session, rt, token)
        else:
            raise CroceviaError("not signed in")
    except CroceviaError:
        await ws.close(code=4401)
        return
    actor = who.actor
    await ws.accept()
    sub = rt.bus.subscribe_queue(actor.workspace_id)
    try:
        await ws.send_text(json.dumps({"type": "hello", "user_id": actor.user_id}))
        receiver = asyncio.create_task(_drain(ws, rt, actor))
        while not receiver.done():
            getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            # Whatever else is already queued goes out in the same turn: under load events arrive
            # in bursts (one per committed batch), and one wait per event fell behind them.
            batch = [getter.result()]
            while not sub.queue.empty():
                batch.append(sub.queue.get_nowait())
            for event in batch:
                if event.channel_id is None or actor.can_see_channel(event.channel_id):
                    await ws.send_text(event.json)
            if sub.overflowed:
                # Events were dropped for this feed: the page must not carry on with a gap. It
                # reconnects and reloads what it shows (core/live.js `onsync`).
                await ws.close(code=RESYNC)
                break
    except WebSocketDisconnect:
        pass
    finally:
        rt.bus.unsubscribe_queue(sub)
        with contextlib.suppress(Exception):
            await ws.close()


async def _drain(ws: WebSocket, rt: Runtime, actor: Actor) -> None:
    """Read what the browser sends, so we notice when it goes away. The only message it may send is
    "I am typing in conversation N" ({"type": "typing", "conversation_id": N, "mode": "reply"|"note"}),
    relayed to the teammates who can see that conversation; anything else is ignored."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            raw = await ws.receive_text()
            with contextlib.suppress(ValueError, TypeError, KeyError, CroceviaError):
                msg = json.loads(raw)
                if msg.get("type") == "typing" and actor.user_id is not None and actor.role.can_write:
                    await run_in_threadpool(_relay_typing, rt, actor, int(msg["conversation_id"]),
                                            "note" if msg.get("mode") == "note" else "reply")


def _relay_typing(rt: Runtime, actor: Actor, conversation_id: int, mode: str) -> None:
    """Ephemeral: published on the bus (never stored, never sent to outgoing webhooks)."""
    conv = conversations.get_conversation(rt, actor, conversation_id)  # 404s what the agent cannot see
    rt.bus.publish(Event(type="typing", workspace_id=actor.workspace_id, channel_id=conv.channel_id,
                         data={"conversation_id": conv.id, "user_id": actor.user_id, "mode": mode}))
