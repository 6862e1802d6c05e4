"""A message travels end to end: webhook → stored once → visible in the API → reply → the
provider (emulator) receives it exactly once → delivery status comes back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from tests.conftest import Hub, Workspace, api_token, new_workspace

from crocevia.channels.sandbox.adapter import SIGNATURE_HEADER, sign
from crocevia.services import channels

CREDS = {"account_id": "acct-e2e", "api_key": "key-e2e-12345", "webhook_secret": "secret-e2e-123"}


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def connect_sandbox(hub: Hub, w: Workspace, emu: httpx.Client, emulator_url: str, creds: dict[str, str] = CREDS):
    channel = channels.create_channel(hub.rt, w.owner, kind="sandbox", name="Sandbox", credentials=creds,
                                      settings={"api_base": emulator_url})
    cfg = channels.config_for(hub.rt, channel)
    emu.post("/_emulator/accounts/sandbox", json={**creds, "webhook_url": cfg.webhook_url})
    return channel


def post_inbound(hub: Hub, channel: Any, events: list[dict[str, Any]], secret: str = CREDS["webhook_secret"],
                 signature: str | None = None) -> httpx.Response:
    body = json.dumps({"events": events}).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature or sign(secret, body)}
    return httpx.post(f"{hub.url}/webhooks/sandbox/{channel.public_id}", content=body, headers=headers)


def text_event(msg_id: str, text: str, sender: str = "+393331234567") -> dict[str, Any]:
    return {"type": "message", "id": msg_id, "from": sender, "name": "Mario Rossi", "text": text,
            "timestamp": int(time.time())}


def test_inbound_stored_once_reply_sent_once_and_delivered(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    token = api_token(hub.rt, w.owner)
    api = hub.client(token)

    # The provider delivers the same webhook twice (it retries on timeouts): stored once.
    for _ in range(2):
        resp = post_inbound(hub, channel, [text_event("in-1", "Avete un tavolo per stasera?")])
        assert resp.status_code == 200
    convs = api.get("/api/v1/conversations").json()["items"]
    assert len(convs) == 1
    conv = convs[0]
    assert conv["contact"]["phone"] == "+393331234567"
    assert conv["last_message_preview"] == "Avete un tavolo per stasera?"
    msgs = api.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"]
    assert [m["text"] for m in msgs] == ["Avete un tavolo per stasera?"]

    reply = api.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Sì, alle 20 per 4?"})
    assert reply.status_code == 202, reply.text
    assert reply.json()["status"] == "queued"
    mid = reply.json()["id"]

    accepted = wait_for(lambda: emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json(),
                        what="the emulator to receive the reply")
    assert len(accepted) == 1
    assert accepted[0]["body"] == {"to": "+393331234567", "text": "Sì, alle 20 per 4?"}

    def delivered() -> bool:
        return api.get(f"/api/v1/messages/{mid}").json()["status"] == "delivered"

    wait_for(delivered, what="status delivered from the emulator's callback")
    msg = api.get(f"/api/v1/messages/{mid}").json()
    assert msg["provider_message_id"] == accepted[0]["id"]
    assert msg["delivered_at"] is not None


def test_bad_or_missing_signature_is_refused_and_nothing_stored(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    bad = post_inbound(hub, channel, [text_event("in-x", "ciao")], signature="sha256=" + "0" * 64)
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "signature_invalid"
    body = json.dumps({"events": [text_event("in-y", "ciao")]}).encode()
    missing = httpx.post(f"{hub.url}/webhooks/sandbox/{channel.public_id}", content=body)
    assert missing.status_code == 401
    assert api.get("/api/v1/conversations").json()["items"] == []


def test_an_oversized_or_misdirected_webhook_gets_a_clear_error_and_nothing_is_stored(
        hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    url = f"{hub.url}/webhooks/sandbox/{channel.public_id}"
    huge = json.dumps({"events": [text_event("in-big", "x" * (1024 * 1024))]}).encode()
    too_big = httpx.post(url, content=huge, headers={SIGNATURE_HEADER: sign(CREDS["webhook_secret"], huge)})
    assert too_big.status_code == 413
    assert too_big.headers["content-type"].startswith("application/problem+json")
    assert too_big.json()["field"] == "body" and too_big.json()["code"] == "payload_too_large"
    unknown = httpx.post(f"{hub.url}/webhooks/sandbox/ch_nope", content=b"{}")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    wrong_method = httpx.put(url, content=b"{}")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("application/problem+json")
    assert api.get("/api/v1/conversations").json()["items"] == []
    # The same address still takes a proper delivery.
    assert post_inbound(hub, channel, [text_event("in-ok", "ciao")]).status_code == 200


def test_retry_after_is_honoured_then_sent_once(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    post_inbound(hub, channel, [text_event("in-2", "Ciao")])
    conv = api.get("/api/v1/conversations").json()["items"][0]
    emu.post("/_emulator/faults", json={"provider": "sandbox", "status": 429, "times": 2, "retry_after": 0.3})
    mid = api.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Eccoci"}).json()["id"]
    wait_for(lambda: api.get(f"/api/v1/messages/{mid}").json()["status"] in ("sent", "delivered"),
             what="the send to succeed after two 429s")
    calls = emu.get("/_emulator/requests", params={"provider": "sandbox"}).json()
    assert [c["outcome"] for c in calls] == ["fault:429", "fault:429", "accepted"]
    assert len(emu.get("/_emulator/accepted").json()) == 1


def test_permanent_error_marks_message_failed_with_reason(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    post_inbound(hub, channel, [text_event("in-3", "Ciao")])
    conv = api.get("/api/v1/conversations").json()["items"][0]
    emu.post("/_emulator/faults", json={"provider": "sandbox", "status": 400, "times": 1,
                                        "body": {"error": "invalid recipient"}})
    mid = api.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Eccoci"}).json()["id"]
    msg = wait_for(lambda: (m := api.get(f"/api/v1/messages/{mid}").json())["status"] == "failed" and m,
                   what="the message to fail")
    assert "invalid recipient" in msg["failure_reason"]
    assert len(emu.get("/_emulator/requests").json()) == 1  # a permanent error is not retried


def test_idempotency_key_sends_once(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    post_inbound(hub, channel, [text_event("in-4", "Ciao")])
    conv = api.get("/api/v1/conversations").json()["items"][0]
    first = api.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Una volta"},
                     headers={"Idempotency-Key": "crm-123"}).json()
    again = api.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Una volta"},
                     headers={"Idempotency-Key": "crm-123"}).json()
    assert first["id"] == again["id"]
    wait_for(lambda: emu.get("/_emulator/accepted").json(), what="the send")
    time.sleep(0.3)
    assert len(emu.get("/_emulator/accepted").json()) == 1


def test_inbound_media_is_fetched_stored_and_served_only_to_those_allowed(hub: Hub, emu: httpx.Client,
                                                                         emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    event = {**text_event("in-media", ""), "media": [{"url": f"{emulator.url}/sandbox/v1/media/m1",
                                                      "mime_type": "image/png", "caption": "lo scontrino"}]}
    assert post_inbound(hub, channel, [event]).status_code == 200
    conv = api.get("/api/v1/conversations").json()["items"][0]

    def fetched() -> dict[str, Any] | None:
        msg = api.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"][0]
        return msg if msg["content"]["media"][0].get("attachment_id") else None

    msg = wait_for(fetched, what="the media to be fetched from the provider")
    assert msg["kind"] == "media"
    att_id = msg["content"]["media"][0]["attachment_id"]
    got = api.get(f"/api/v1/attachments/{att_id}")
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content.startswith(b"\x89PNG")
    stranger = new_workspace(hub.rt)
    assert hub.client(api_token(hub.rt, stranger.owner)).get(f"/api/v1/attachments/{att_id}").status_code == 404


def test_status_that_arrives_before_the_send_returns_is_not_lost(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    post_inbound(hub, channel, [text_event("in-early", "Ciao")])
    conv = api.get("/api/v1/conversations").json()["items"][0]
    # The provider reports "delivered" at once but answers the send call only 0.5 s later.
    emu.post("/_emulator/status-delays", json={"delivered": 0.0})
    emu.post("/_emulator/response-delay", json={"seconds": 0.5})
    mid = api.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Veloce"}).json()["id"]
    wait_for(lambda: api.get(f"/api/v1/messages/{mid}").json()["status"] == "delivered",
             what="the early 'delivered' status to be applied once the send returned")
