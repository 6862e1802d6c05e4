"""WhatsApp test fixtures: the emulator over real HTTP, an account in it, and a webhook catcher."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from crocevia.channels.emulator.app import build_emulator_app
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.meta.testkit_common import EmulatorHandle, WebhookCollector
from crocevia.channels.whatsapp import testkit


@pytest.fixture(scope="module")
def whatsapp_servers() -> Iterator[tuple[RunningServer, RunningServer, WebhookCollector]]:
    hook = WebhookCollector()
    emulator = serve_in_thread(build_emulator_app())
    receiver = serve_in_thread(hook)
    yield emulator, receiver, hook
    emulator.stop()
    receiver.stop()


@pytest.fixture
def whatsapp_emu(
    whatsapp_servers: tuple[RunningServer, RunningServer, WebhookCollector],
) -> Iterator[EmulatorHandle]:
    emulator, receiver, hook = whatsapp_servers
    cfg = testkit.config(emulator.url)
    creds = cfg.credentials
    with httpx.Client(timeout=5.0) as http:
        emu = EmulatorHandle(
            "whatsapp",
            emulator.url,
            http,
            cfg,
            hook,
            f"{receiver.url}/webhooks/whatsapp/{cfg.public_id}",
            account_defaults={
                "account_id": creds["phone_number_id"],
                "access_token": creds["access_token"],
                "app_secret": creds["app_secret"],
                "waba_id": creds["waba_id"],
                "display_phone_number": "15550783881",
                "verified_name": "Trattoria Esempio",
            },
        )
        emu.reset({"delivered": 0.05})
        yield emu
