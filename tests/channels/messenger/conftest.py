"""Messenger test fixtures: the Graph emulator over real HTTP, a Page in it, and a webhook catcher."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from crocevia.channels.emulator.app import build_emulator_app
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.messenger import testkit
from crocevia.channels.meta.testkit_common import EmulatorHandle, WebhookCollector


@pytest.fixture(scope="module")
def messenger_servers() -> Iterator[tuple[RunningServer, RunningServer, WebhookCollector]]:
    hook = WebhookCollector()
    emulator = serve_in_thread(build_emulator_app())
    receiver = serve_in_thread(hook)
    yield emulator, receiver, hook
    emulator.stop()
    receiver.stop()


@pytest.fixture
def messenger_emu(
    messenger_servers: tuple[RunningServer, RunningServer, WebhookCollector],
) -> Iterator[EmulatorHandle]:
    emulator, receiver, hook = messenger_servers
    cfg = testkit.config(emulator.url)
    creds = cfg.credentials
    with httpx.Client(timeout=5.0) as http:
        emu = EmulatorHandle(
            "messenger",
            emulator.url,
            http,
            cfg,
            hook,
            f"{receiver.url}/webhooks/messenger/{cfg.public_id}",
            account_defaults={
                "account_id": creds["page_id"],
                "access_token": creds["page_access_token"],
                "app_secret": creds["app_secret"],
                "name": "Trattoria Esempio",
            },
        )
        emu.reset({"delivered": 0.05, "read": 0.1})
        yield emu
