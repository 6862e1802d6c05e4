"""Helpers for the web chat tests: a web chat channel on the real hub, its visitors, an agent's API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from tests.conftest import Hub, api_token, new_workspace

from crocevia.channels.webchat.testkit import SITE_ORIGIN
from crocevia.services import channels

T = TypeVar("T")
WIDGET_SECRET = "widget-secret-for-tests-0123456789"
IDENTITY_SECRET = "identity-secret-for-tests-0123456789"


def wait_for(fetch: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    """Poll until ``fetch`` returns something truthy (the hub works in background threads)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}; last saw {value!r}")
        time.sleep(0.05)


@dataclass
class Webchat:
    hub: Hub
    public_id: str
    channel_id: int
    agent: httpx.Client  # the owner's API token: what an agent's tools would call

    @property
    def base(self) -> str:
        return f"{self.hub.url}/webchat/{self.public_id}"

    @property
    def ws_base(self) -> str:
        return self.base.replace("http://", "ws://", 1) + "/ws"

    def session(self, origin: str = SITE_ORIGIN, **body: Any) -> dict[str, Any]:
        resp = httpx.post(f"{self.base}/session", json=body, headers={"Origin": origin}, timeout=10)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data

    def post(self, token: str, frame: dict[str, Any], origin: str = SITE_ORIGIN) -> httpx.Response:
        return httpx.post(f"{self.base}/messages", json=frame, timeout=10,
                          headers={"Authorization": f"Bearer {token}", "Origin": origin})

    def history(self, token: str) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.base}/messages", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["messages"]
        return items

    def conversations(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.agent.get(
            "/api/v1/conversations", params={"channel_id": self.channel_id}).json()["items"]
        return items

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.agent.get(
            f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
        return items

    def reply(self, conversation_id: int, text: str, **extra: Any) -> dict[str, Any]:
        resp = self.agent.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text, **extra})
        assert resp.status_code == 202, resp.text
        data: dict[str, Any] = resp.json()
        return data

    def message_status(self, message_id: int) -> str:
        status: str = self.agent.get(f"/api/v1/messages/{message_id}").json()["status"]
        return status


@contextmanager
def make_webchat(hub: Hub, **settings: Any) -> Iterator[Webchat]:
    """A web chat channel in a new workspace; only www.trattoria-crocevia.example may embed it."""
    w = new_workspace(hub.rt)
    channel = channels.create_channel(
        hub.rt, w.owner, kind="webchat", name="Sito web",
        credentials={"widget_secret": WIDGET_SECRET, "identity_secret": IDENTITY_SECRET},
        settings={"allowed_origins": [SITE_ORIGIN], **settings})
    with hub.client(api_token(hub.rt, w.owner)) as agent:
        yield Webchat(hub, channel.public_id, channel.id, agent)
