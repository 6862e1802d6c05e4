"""Fixtures for the Telegram tests: the emulator over real HTTP, and a stand-in hub."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.emulator.app import build_emulator_app
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.telegram import testkit


@dataclass
class TgHubStub:
    """Records the webhooks a provider posts, as the hub's route would see them."""

    url: str
    seen: list[WebhookRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture(scope="module")
def tg_emulator() -> Iterator[RunningServer]:
    server = serve_in_thread(build_emulator_app())
    yield server
    server.stop()


@pytest.fixture
def tg_cfg(tg_emulator: RunningServer) -> Iterator[ChannelConfig]:
    """A channel whose bot is registered with a freshly reset emulator."""
    httpx.post(f"{tg_emulator.url}/_emulator/reset").raise_for_status()
    bot_id = testkit.BOT_TOKEN.partition(":")[0]
    httpx.post(
        f"{tg_emulator.url}/_emulator/accounts/telegram",
        json={"account_id": bot_id, "bot_token": testkit.BOT_TOKEN, "username": "trattoria_bot",
              "blocked_chats": [666]},
    ).raise_for_status()
    yield testkit.config(api_base=tg_emulator.url)


@pytest.fixture
def tg_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as client:
        yield client


@pytest.fixture
def tg_recorded(tg_emulator: RunningServer) -> Callable[[], list[dict[str, Any]]]:
    """Every call the emulator saw for Telegram, oldest first."""

    def fetch() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx.get(f"{tg_emulator.url}/_emulator/requests",
                                               params={"provider": "telegram"}).json()
        return rows

    return fetch


@pytest.fixture
def tg_hub() -> Iterator[TgHubStub]:
    stub = TgHubStub(url="")

    async def receive(request: Request) -> Response:
        body = await request.body()
        req = WebhookRequest(
            method=request.method,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            body=body,
        )
        with stub.lock:
            stub.seen.append(req)
        return Response(b"ok")

    server = serve_in_thread(Starlette(routes=[Route("/webhooks/{kind}/{channel}", receive, methods=["POST"])]))
    stub.url = server.url
    yield stub
    server.stop()
