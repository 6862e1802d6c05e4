"""Outgoing webhooks as a business's CRM sees them: signed deliveries, retried until accepted."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.api.support import Api, assert_problem, create_channel, make_app, post_inbound, text_event
from tests.conftest import Hub, api_token, make_settings, new_workspace
from tests.core.test_pipeline import wait_for

from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.sandbox.adapter import SIGNATURE_HEADER, sign
from crocevia.clock import FakeClock
from crocevia.jobs.webhook_sender import WebhookSender
from crocevia.runtime import Runtime
from crocevia.storage.migrate import upgrade


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny CRM endpoint: records what it gets, answers with the statuses it is told to."""

    server: RunningServer
    calls: list[Received] = field(default_factory=list)
    # Per path, the statuses to answer with, in order; 200 once they run out.
    script: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.server.url}{path}"

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [c for c in self.calls if c.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    async def hook(request: Request) -> Response:
        rec = holder[0]
        body = await request.body()
        with rec.lock:
            rec.calls.append(Received(request.url.path, dict(request.headers), body))
            planned = rec.script.get(request.url.path)
            status = planned.pop(0) if planned else 200
        return Response(status_code=status)

    app = Starlette(routes=[Route("/{name}", hook, methods=["POST"])])
    server = serve_in_thread(app)
    holder.append(Receiver(server))
    yield holder[0]
    server.stop()


def verify(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What the receiving CRM does: check X-Crocevia-Signature (t=..,v1=..) over "<t>.<body>"."""
    parts = dict(p.split("=", 1) for p in headers["x-crocevia-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts["v1"]):
        raise AssertionError("signature does not verify")
    # A replayed old delivery would carry an old timestamp; ours are fresh.
    assert abs(int(parts["t"]) - time.time()) < 600
    payload: dict[str, Any] = json.loads(body)
    return payload


def test_an_inbound_message_is_delivered_signed_to_the_subscriber(hub: Hub, receiver: Receiver) -> None:
    w = new_workspace(hub.rt)
    api = hub.client(api_token(hub.rt, w.owner))
    channel = api.post("/api/v1/channels", json={"kind": "sandbox", "name": "S", "credentials": {
        "account_id": "a", "api_key": "key-12345678", "webhook_secret": "secret-12345678"}}).json()
    sub = api.post("/api/v1/webhooks", json={"url": receiver.url("/crm"), "events": ["message.created"]})
    assert sub.status_code == 201
    secret = sub.json()["secret"]
    assert secret and "secret" not in api.get("/api/v1/webhooks").json()[0]  # shown once

    body = json.dumps({"events": [text_event("w-1", "Vorrei prenotare")]}).encode()
    resp = httpx.post(f"{hub.url}/webhooks/sandbox/{channel['public_id']}", content=body,
                      headers={SIGNATURE_HEADER: sign("secret-12345678", body)})
    assert resp.status_code == 200

    got = wait_for(lambda: receiver.on("/crm"), what="the webhook delivery")[0]
    payload = verify(secret, got.headers, got.body)
    assert payload["type"] == "message.created" == got.headers["x-crocevia-event"]
    assert payload["workspace_id"] == w.id
    assert payload["data"]["message"]["text"] == "Vorrei prenotare"
    assert payload["data"]["conversation"]["channel_id"] == channel["id"]
    with pytest.raises(AssertionError, match="does not verify"):
        verify(secret, got.headers, got.body.replace(b"prenotare", b"annullare"))
    with pytest.raises(AssertionError, match="does not verify"):
        verify("whsec_un-altro-segreto", got.headers, got.body)
    # Only what was subscribed to: contact.created and conversation.created were not sent.
    deliveries = api.get(f"/api/v1/webhooks/{sub.json()['id']}/deliveries").json()
    assert [d["event_type"] for d in deliveries] == ["message.created"]
    wait_for(lambda: api.get(f"/api/v1/webhooks/{sub.json()['id']}/deliveries").json()[0]["status"] == "delivered",
             what="the delivery to be recorded")
    api.close()


@pytest.fixture
def clocked(database_url: str, tmp_path: Path) -> Iterator[tuple[Runtime, FakeClock, TestClient]]:
    """A hub whose clock the test moves, so backoff is observed without waiting for it."""
    clock = FakeClock(datetime.now(UTC))
    runtime = Runtime.from_settings(make_settings(database_url, tmp_path), clock=clock)
    upgrade(runtime.db)
    with TestClient(make_app(runtime)) as client:
        yield runtime, clock, client
    runtime.close()


def test_a_failing_receiver_gets_the_same_event_again_until_it_accepts(
    clocked: tuple[Runtime, FakeClock, TestClient], receiver: Receiver
) -> None:
    rt, clock, http = clocked
    owner = Api(http, api_token(rt, new_workspace(rt).owner))
    other = Api(http, api_token(rt, new_workspace(rt).owner))
    channel, other_channel = create_channel(owner), create_channel(other)
    sub = owner.ok("POST", "/api/v1/webhooks", 201, json={"url": receiver.url("/crm"),
                                                          "events": ["message.created"]})
    other.ok("POST", "/api/v1/webhooks", 201, json={"url": receiver.url("/altro"), "events": ["message.created"]})
    receiver.script["/crm"] = [500, 500, 200]
    post_inbound(http, channel["public_id"], [text_event("r-1", "Ci siete?")])
    post_inbound(http, other_channel["public_id"], [text_event("r-2", "Messaggio di un altro")])
    deliveries_url = f"/api/v1/webhooks/{sub['id']}/deliveries"
    sender = WebhookSender(rt)
    try:
        # Deliveries are stamped with the wall clock when written, a moment after our clock started.
        clock.advance(timedelta(seconds=5))
        sender.run_once()
        assert len(receiver.on("/crm")) == 1
        first = owner.ok("GET", deliveries_url)
        assert [(d["status"], d["attempts"], d["response_status"]) for d in first] == [("pending", 1, 500)]

        # Backing off: nothing is retried until time has passed.
        sender.run_once()
        assert len(receiver.on("/crm")) == 1
        for _ in range(2):
            clock.advance(timedelta(hours=2))
            sender.run_once()
        calls = receiver.on("/crm")
        assert len(calls) == 3
        # Then nothing more: the event was accepted once.
        clock.advance(timedelta(days=1))
        sender.run_once()
        assert len(receiver.on("/crm")) == 3
    finally:
        sender.stop()

    # The same event each time, each one signed.
    assert len({c.headers["x-crocevia-delivery"] for c in calls}) == 1
    assert len({c.body for c in calls}) == 1
    secretless = owner.ok("GET", "/api/v1/webhooks")
    assert "secret" not in secretless[0]
    final = owner.ok("GET", deliveries_url)
    assert [(d["status"], d["attempts"], d["response_status"], d["last_error"]) for d in final] == [
        ("delivered", 3, 200, None)]
    # Each workspace's receiver got only its own workspace's event.
    assert [json.loads(c.body)["data"]["message"]["text"] for c in receiver.on("/altro")] == [
        "Messaggio di un altro"]
    assert {json.loads(c.body)["workspace_id"] for c in calls} == {owner.ok("GET", "/api/v1/auth/me")[
        "workspace_id"]}


def test_subscription_rules(rt: Runtime, http: TestClient) -> None:
    owner = Api(http, api_token(rt, new_workspace(rt).owner))
    own_secret = "s" * 32
    created = owner.ok("POST", "/api/v1/webhooks", 201, json={"url": "https://crm.example.com/hook",
                                                              "secret": own_secret})
    assert created["secret"] == own_secret and created["events"] == ["*"]
    assert_problem(owner.post("/api/v1/webhooks", json={"url": "non-un-url"}), 400, "url")
    owner.ok("DELETE", f"/api/v1/webhooks/{created['id']}", 204)
    assert owner.ok("GET", "/api/v1/webhooks") == []
    assert_problem(owner.get(f"/api/v1/webhooks/{created['id']}/deliveries"), 404)
