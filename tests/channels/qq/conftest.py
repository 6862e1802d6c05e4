"""Fixtures for the QQ tests: the emulator over real HTTP, and a stand-in hub."""

from __future__ import annotations

import threading
import time
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
from crocevia.channels.qq import testkit
from crocevia.channels.qq.api import TOKENS


@dataclass
class QQHubStub:
    """Records the webhooks QQ posts, as the hub's route would receive them."""

    url: str
    seen: list[WebhookRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[WebhookRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.seen) >= count:
                    break
            time.sleep(0.02)
        with self.lock:
            return list(self.seen)


@pytest.fixture(scope="module")
def qq_emulator() -> Iterator[RunningServer]:
    server = serve_in_thread(build_emulator_app())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def qq_hub() -> Iterator[QQHubStub]:
    hub = QQHubStub(url="")

    async def webhook(request: Request) -> Response:
        req = WebhookRequest(
            method=request.method,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            body=await request.body(),
        )
        with hub.lock:
            hub.seen.append(req)
        return Response(b'{"op":12}', media_type="application/json")

    server = serve_in_thread(Starlette(routes=[Route("/webhooks/qq/{channel}", webhook, methods=["POST"])]))
    hub.url = server.url
    yield hub
    server.stop()


@pytest.fixture
def qq_cfg(qq_emulator: RunningServer, qq_hub: QQHubStub) -> ChannelConfig:
    """A bot registered with a freshly reset emulator, and no cached token."""
    httpx.post(f"{qq_emulator.url}/_emulator/reset").raise_for_status()
    with qq_hub.lock:
        qq_hub.seen.clear()
    httpx.post(f"{qq_emulator.url}/_emulator/accounts/qq", json={
        "account_id": testkit.APP_ID, "app_secret": testkit.APP_SECRET,
        "webhook_url": f"{qq_hub.url}/webhooks/qq/ch_test_qq"}).raise_for_status()
    TOKENS.clear()
    return testkit.config(api_base=qq_emulator.url)


@pytest.fixture
def qq_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:  # QQ asks for at least 5 s (send.md)
        yield client


@pytest.fixture
def qq_recorded(qq_emulator: RunningServer) -> Callable[[], list[dict[str, Any]]]:
    def fetch() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx.get(f"{qq_emulator.url}/_emulator/requests",
                                               params={"provider": "qq"}).json()
        return rows

    return fetch


@pytest.fixture
def qq_fault(qq_emulator: RunningServer) -> Callable[..., None]:
    def inject(**fault: Any) -> None:
        httpx.post(f"{qq_emulator.url}/_emulator/faults", json={"provider": "qq", **fault}).raise_for_status()

    return inject


@pytest.fixture
def qq_push(qq_emulator: RunningServer) -> Callable[..., dict[str, Any]]:
    """Have the emulator deliver a user's message to the stand-in hub, as QQ would."""

    def push(**event: Any) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.post(f"{qq_emulator.url}/_emulator/qq/push",
                                            json={"account_id": testkit.APP_ID, **event}).json()
        return answer

    return push
