"""Agents see new messages live over the WebSocket, also when scaled out to several web processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from tests.conftest import Hub, api_token, make_settings, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event
from tests.core.test_scale_out import REDIS_URL, needs_redis

from crocevia.app import build_app
from crocevia.channels.emulator.server import RunningServer, free_port, serve_in_thread
from crocevia.runtime import Runtime
from crocevia.storage.migrate import upgrade


async def _next_message_event(ws_url: str, token: str, trigger: object, wait: float = 10.0) -> dict[str, object]:
    async with websockets.connect(f"{ws_url}?token={token}") as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello["type"] == "hello"
        await asyncio.to_thread(trigger)  # type: ignore[arg-type]
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), wait))
            if event["type"] == "message.created":
                return event


def test_agent_sees_a_new_message_live(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    token = api_token(hub.rt, w.owner)
    ws_url = hub.url.replace("http://", "ws://") + "/api/v1/live"
    event = asyncio.run(_next_message_event(ws_url, token,
                                            lambda: post_inbound(hub, channel, [text_event("live-1", "Ci sei?")])))
    assert event["data"]["message"]["text"] == "Ci sei?"  # type: ignore[index]


def test_other_workspaces_and_other_inboxes_get_nothing(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    outsider = new_workspace(hub.rt)
    token = api_token(hub.rt, outsider.owner)
    ws_url = hub.url.replace("http://", "ws://") + "/api/v1/live"
    with pytest.raises(TimeoutError):
        asyncio.run(_next_message_event(ws_url, token,
                                        lambda: post_inbound(hub, channel, [text_event("live-2", "privato")]),
                                        wait=1.5))


@pytest.fixture
def two_hubs(database_url: str, tmp_path: Path) -> Iterator[tuple[Hub, Hub]]:
    """Two web processes' worth of app (own runtimes and buses) on one database and one Redis."""
    hubs, servers = [], []
    for _ in range(2):
        port = free_port()
        settings = make_settings(database_url, tmp_path, redis_url=REDIS_URL, public_url=f"http://127.0.0.1:{port}")
        runtime = Runtime.from_settings(settings)
        upgrade(runtime.db)
        server: RunningServer = serve_in_thread(build_app(settings, runtime=runtime, run_workers=True), port=port)
        hubs.append(Hub(server.url, runtime, server))
        servers.append((server, runtime))
    yield hubs[0], hubs[1]
    for server, runtime in servers:
        server.stop()
        runtime.close()


@needs_redis
def test_message_ingested_by_one_process_appears_live_on_another(two_hubs: tuple[Hub, Hub], emu: httpx.Client,
                                                                  emulator) -> None:
    a, b = two_hubs
    w = new_workspace(a.rt)
    channel = connect_sandbox(a, w, emu, emulator.url)
    token = api_token(a.rt, w.owner)
    ws_url_b = b.url.replace("http://", "ws://") + "/api/v1/live"
    event = asyncio.run(_next_message_event(
        ws_url_b, token, lambda: post_inbound(a, channel, [text_event("live-3", "via Redis")])))
    assert event["data"]["message"]["text"] == "via Redis"  # type: ignore[index]
