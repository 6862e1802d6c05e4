"""Fixtures for the QQ tests: the emulator over real HTTP, and a stand-in hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.channels.stand_in import StandInHub, fault_injector, recorded_calls, serve_stand_in

from crocevia.channels.base import ChannelConfig
from crocevia.channels.emulator.app import build_emulator_app
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.qq import testkit
from crocevia.channels.qq.api import TOKENS


@pytest.fixture(scope="module")
def qq_emulator() -> Iterator[RunningServer]:
    server = serve_in_thread(build_emulator_app())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def qq_hub() -> Iterator[StandInHub]:
    with serve_stand_in("/webhooks/qq/{channel}", b'{"op":12}', "application/json") as hub:
        yield hub


@pytest.fixture
def qq_cfg(qq_emulator: RunningServer, qq_hub: StandInHub) -> ChannelConfig:
    """A bot registered with a freshly reset emulator, and no cached token."""
    httpx.post(f"{qq_emulator.url}/_emulator/reset").raise_for_status()
    qq_hub.clear()
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
    return recorded_calls(qq_emulator.url, "qq")


@pytest.fixture
def qq_fault(qq_emulator: RunningServer) -> Callable[..., None]:
    return fault_injector(qq_emulator.url, "qq")


@pytest.fixture
def qq_push(qq_emulator: RunningServer) -> Callable[..., dict[str, Any]]:
    """Have the emulator deliver a user's message to the stand-in hub, as QQ would."""

    def push(**event: Any) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.post(f"{qq_emulator.url}/_emulator/qq/push",
                                            json={"account_id": testkit.APP_ID, **event}).json()
        return answer

    return push
