"""Fixtures for the WeChat tests: the emulator over real HTTP, and a stand-in hub/web site."""

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
from crocevia.channels.wechat import testkit
from crocevia.channels.wechat.api import TOKENS

# A JPEG is just bytes to WeChat's upload; these start like one.
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


@dataclass
class WxSite:
    """The hub's webhook route (recording what WeChat posts) plus files for media_url."""

    url: str
    seen: list[WebhookRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[WebhookRequest]:
        """The requests seen once there are ``count`` of them (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.seen) >= count:
                    break
            time.sleep(0.02)
        with self.lock:
            return list(self.seen)


@pytest.fixture(scope="module")
def wx_emulator() -> Iterator[RunningServer]:
    server = serve_in_thread(build_emulator_app())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wx_site() -> Iterator[WxSite]:
    site = WxSite(url="")

    async def webhook(request: Request) -> Response:
        req = WebhookRequest(
            method=request.method,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            body=await request.body(),
        )
        with site.lock:
            site.seen.append(req)
        return Response(b"success", media_type="text/plain")

    async def photo(request: Request) -> Response:
        return Response(PHOTO, media_type="image/jpeg")

    async def brochure(request: Request) -> Response:
        return Response(b"%PDF-1.4 fake", media_type="application/pdf")

    app = Starlette(routes=[
        Route("/webhooks/wechat/{channel}", webhook, methods=["GET", "POST"]),
        Route("/files/photo.jpg", photo),
        Route("/files/brochure.pdf", brochure),
    ])
    server = serve_in_thread(app)
    site.url = server.url
    yield site
    server.stop()


def _register(emulator: RunningServer, site: WxSite, **extra: Any) -> None:
    httpx.post(f"{emulator.url}/_emulator/reset").raise_for_status()
    with site.lock:
        site.seen.clear()
    httpx.post(
        f"{emulator.url}/_emulator/accounts/wechat",
        json={
            "account_id": testkit.APP_ID,
            "app_secret": testkit.APP_SECRET,
            "token": testkit.TOKEN,
            "encoding_aes_key": testkit.ENCODING_AES_KEY,
            "message_mode": "safe",
            "original_id": testkit.ORIGINAL_ID,
            "webhook_url": f"{site.url}/webhooks/wechat/ch_test_wechat",
            "blocked_openids": ["oBLOCKEDxxxxxxxxxxxxxxxxxxxx"],
            "expired_openids": ["oEXPIREDxxxxxxxxxxxxxxxxxxxx"],
            **extra,
        },
    ).raise_for_status()


@pytest.fixture
def wx_cfg(wx_emulator: RunningServer, wx_site: WxSite) -> ChannelConfig:
    """A verified service account registered with a freshly reset emulator."""
    _register(wx_emulator, wx_site)
    TOKENS.clear()  # every test starts without a cached access_token
    return testkit.config(api_base=wx_emulator.url, message_mode="safe")


@pytest.fixture
def wx_register(wx_emulator: RunningServer, wx_site: WxSite) -> Callable[..., None]:
    """Re-register the account with other settings (account type, mode...)."""
    return lambda **extra: _register(wx_emulator, wx_site, **extra)


@pytest.fixture
def wx_photo() -> bytes:
    """What the stand-in web site serves at /files/photo.jpg."""
    return PHOTO


@pytest.fixture
def wx_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as client:
        yield client


@pytest.fixture
def wx_recorded(wx_emulator: RunningServer) -> Callable[[], list[dict[str, Any]]]:
    """Every call the emulator saw for WeChat, oldest first."""

    def fetch() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx.get(f"{wx_emulator.url}/_emulator/requests",
                                               params={"provider": "wechat"}).json()
        return rows

    return fetch


@pytest.fixture
def wx_fault(wx_emulator: RunningServer) -> Callable[..., None]:
    def inject(**fault: Any) -> None:
        httpx.post(f"{wx_emulator.url}/_emulator/faults", json={"provider": "wechat", **fault}).raise_for_status()

    return inject
