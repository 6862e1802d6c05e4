"""Fixtures for the SMS (Twilio) tests: the emulator over real HTTP, and a stand-in hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from tests.channels.stand_in import StandInHub, recorded_calls, serve_stand_in

from crocevia.channels.base import ChannelConfig
from crocevia.channels.emulator.app import build_emulator_app
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.sms import testkit


@pytest.fixture(scope="module")
def sms_emulator() -> Iterator[RunningServer]:
    server = serve_in_thread(build_emulator_app())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sms_hub() -> Iterator[StandInHub]:
    with serve_stand_in("/webhooks/{kind}/{channel}", b'<?xml version="1.0" encoding="UTF-8"?><Response/>',
                        "text/xml") as hub:
        yield hub


@pytest.fixture
def sms_cfg(sms_emulator: RunningServer, sms_hub: StandInHub) -> ChannelConfig:
    """A channel whose Twilio account is registered with a freshly reset emulator; its webhook
    URL (where status callbacks go) is the local stand-in hub."""
    httpx.post(f"{sms_emulator.url}/_emulator/reset").raise_for_status()
    sms_hub.clear()
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
    return recorded_calls(sms_emulator.url, "twilio")
