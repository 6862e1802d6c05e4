"""Instagram test fixtures: the Graph emulator over real HTTP, an IG account in it, a webhook catcher."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from crocevia.channels.emulator.app import build_emulator_app
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.instagram import testkit
from crocevia.channels.meta.testkit_common import EmulatorHandle, WebhookCollector


@pytest.fixture(scope="module")
def instagram_servers() -> Iterator[tuple[RunningServer, RunningServer, WebhookCollector]]:
    hook = WebhookCollector()
    emulator = serve_in_thread(build_emulator_app())
    receiver = serve_in_thread(hook)
    yield emulator, receiver, hook
    emulator.stop()
    receiver.stop()


def _handle(
    servers: tuple[RunningServer, RunningServer, WebhookCollector], http: httpx.Client, login: str
) -> EmulatorHandle:
    emulator, receiver, hook = servers
    cfg = testkit.config(emulator.url, login=login)
    creds = cfg.credentials
    return EmulatorHandle(
        "instagram",
        emulator.url,
        http,
        cfg,
        hook,
        f"{receiver.url}/webhooks/instagram/{cfg.public_id}",
        account_defaults={
            "account_id": creds["instagram_account_id"],
            "access_token": creds["access_token"],
            "app_secret": creds["app_secret"],
            "username": "loja.exemplo",
        },
    )


@pytest.fixture
def instagram_emu(instagram_servers: tuple[RunningServer, RunningServer, WebhookCollector]) -> Iterator[EmulatorHandle]:
    """An account connected with Instagram Login (graph.instagram.com)."""
    with httpx.Client(timeout=5.0) as http:
        emu = _handle(instagram_servers, http, "instagram")
        emu.reset({"delivered": 0.05, "read": 0.1})
        yield emu


@pytest.fixture
def instagram_fb_emu(
    instagram_servers: tuple[RunningServer, RunningServer, WebhookCollector],
) -> Iterator[EmulatorHandle]:
    """An account connected through its Facebook Page (graph.facebook.com, /me/messages)."""
    with httpx.Client(timeout=5.0) as http:
        emu = _handle(instagram_servers, http, "facebook")
        emu.reset({"delivered": 0.05, "read": 0.1})
        yield emu
