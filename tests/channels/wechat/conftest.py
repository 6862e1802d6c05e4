"""Fixtures for the WeChat tests: the emulator over real HTTP, and a stand-in hub/web site."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.channels.stand_in import StandInHub, fault_injector, recorded_calls, serve_stand_in

from crocevia.channels.base import ChannelConfig
from crocevia.channels.emulator.app import build_emulator_app
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.wechat import testkit
from crocevia.channels.wechat.api import TOKENS

# A JPEG is just bytes to WeChat's upload; these start like one.
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


@pytest.fixture(scope="module")
def wx_emulator() -> Iterator[RunningServer]:
    server = serve_in_thread(build_emulator_app())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wx_site() -> Iterator[StandInHub]:
    """The hub's webhook route (recording what WeChat posts) plus files for media_url."""

    async def photo(request: Request) -> Response:
        return Response(PHOTO, media_type="image/jpeg")

    async def brochure(request: Request) -> Response:
        return Response(b"%PDF-1.4 fake", media_type="application/pdf")

    files = [Route("/files/photo.jpg", photo), Route("/files/brochure.pdf", brochure)]
    with serve_stand_in("/webhooks/wechat/{channel}", b"success", "text/plain", methods=("GET", "POST"),
                        extra_routes=files) as site:
        yield site


def _register(emulator: RunningServer, site: StandInHub, **extra: Any) -> None:
    httpx.post(f"{emulator.url}/_emulator/reset").raise_for_status()
    site.clear()
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
def wx_cfg(wx_emulator: RunningServer, wx_site: StandInHub) -> ChannelConfig:
    """A verified service account registered with a freshly reset emulator."""
    _register(wx_emulator, wx_site)
    TOKENS.clear()  # every test starts without a cached access_token
    return testkit.config(api_base=wx_emulator.url, message_mode="safe")


@pytest.fixture
def wx_register(wx_emulator: RunningServer, wx_site: StandInHub) -> Callable[..., None]:
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
    return recorded_calls(wx_emulator.url, "wechat")


@pytest.fixture
def wx_fault(wx_emulator: RunningServer) -> Callable[..., None]:
    return fault_injector(wx_emulator.url, "wechat")
