"""Fixtures for the SMS (Twilio) tests: the emulator over real HTTP, and a stand-in hub."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
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
from crocevia.channels.sms import testkit


@dataclass
class SmsHubStub:
    """Records the webhooks Twilio (the emulator) posts, as the hub's route would see them."""

    url: str
    seen: list[WebhookRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, mentioning: str, timeout: float = 5.0) -> list[WebhookRequest]:
        """The webhooks whose body mentions ``mentioning`` (a message sid), once ``count`` arrived.

        Filtering keeps a late callback of an earlier test out of this one."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [r for r in self.seen if mentioning.encode() in r.body]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


@pytest.fixture(scope="module")
def sms_emulator() -> Iterator[RunningServer]:
    server = serve_in_thread(build_emulator_app())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sms_hub() -> Iterator[SmsHubStub]:
    stub = SmsHubStub(url="")

    async def receive(request: Request) -> Response:
        req = WebhookRequest(
            method=request.method,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            body=await request.body(),
        )
        with stub.lock:
            stub.seen.append(req)
        return Response(b'<?xml version="1.0" encoding="UTF-8"?><Response/>', media_type="text/xml")

    server = serve_in_thread(Starlette(routes=[Route("/webhooks/{kind}/{channel}", receive, methods=["POST"])]))
    stub.url = server.url
    yield stub
    server.stop()


@pytest.fixture
def sms_cfg(sms_emulator: RunningServer, sms_hub: SmsHubStub) -> ChannelConfig:
    """A channel whose Twilio account is registered with a freshly reset emulator; its webhook
    URL (where status callbacks go) is the local stand-in hub."""
    httpx.post(f"{sms_emulator.url}/_emulator/reset").raise_for_status()
    with sms_hub.lock:
        sms_hub.seen.clear()
    webhook_url = f"{sms_hub.url}/webhooks/sms/ch_test_sms"
    httpx.post(
        f"{sms_emulator.url}/_emulator/accounts/twilio",
        json={"account_id": testkit.ACCOUNT_SID, "auth_token": testkit.AUTH_TOKEN, "sms_url": webhook_url,
              "friendly_name": "Trattoria Da Ana", "unsubscribed": ["+14155550111"],
              "undeliverable": {"+14155550122": 30003}},
    ).raise_for_status()
    return replace(testkit.config(api_base=sms_emulator.url), webhook_url=webhook_url)


@pytest.fixture
def sms_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as client:
        yield client


@pytest.fixture
def sms_recorded(sms_emulator: RunningServer) -> Callable[[], list[dict[str, Any]]]:
    """Every call the emulator saw for Twilio, oldest first."""

    def fetch() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx.get(f"{sms_emulator.url}/_emulator/requests",
                                               params={"provider": "twilio"}).json()
        return rows

    return fetch
