"""The widget endpoints on the real hub over HTTP and WebSocket: what a visitor and an agent see."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from tests.channels.webchat.webchat_support import IDENTITY_SECRET, Webchat, make_webchat, wait_for
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from crocevia.channels.webchat.testkit import SITE_ORIGIN
from crocevia.channels.webchat.tokens import user_hash

EVIL = "https://evil.example"


def ws_connect(w: Webchat, token: str, origin: str = SITE_ORIGIN) -> ClientConnection:
    return connect(f"{w.ws_base}?token={token}", origin=Origin(origin), open_timeout=10)


def recv_until(ws: ClientConnection, wanted: str, **match: Any) -> dict[str, Any]:
    """The next frame of type ``wanted`` (matching ``match``), skipping others."""
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=15))
        if frame["type"] == wanted and all(frame.get(k) == v for k, v in match.items()):
            return frame


def conversation_of(w: Webchat, text: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((c for c in w.conversations() if c["last_message_preview"] == text), None)
    return wait_for(find, f"a conversation ending with {text!r}")


# -- sessions, sending, idempotency ---------------------------------------------------------
def test_a_visitor_message_reaches_the_agents_inbox_once_however_often_it_is_resent(webchat: Webchat) -> None:
    s = webchat.session(name="Giulia", email="giulia@example.com")
    frame = {"type": "message", "client_id": "c-0001", "text": "Avete un tavolo per due stasera?"}
    first = webchat.post(s["token"], frame)
    again = webchat.post(s["token"], frame)
    assert first.status_code == again.status_code == 200
    ack1, ack2 = first.json()["acks"][0], again.json()["acks"][0]
    assert ack1["client_id"] == "c-0001" and ack1["duplicate"] is False
    assert ack2["id"] == ack1["id"] and ack2["duplicate"] is True

    conv = conversation_of(webchat, frame["text"])
    texts = [m["text"] for m in webchat.messages(conv["id"])]
    assert texts == ["Avete un tavolo per due stasera?"]
    contact = webchat.agent.get(f"/api/v1/contacts/{conv['contact_id']}").json()
    assert contact["name"] == "Giulia" and contact["email"] == "giulia@example.com"


def test_answers_carry_cors_headers_for_the_embedding_site(webchat: Webchat) -> None:
    resp = httpx.post(f"{webchat.base}/session", json={}, headers={"Origin": SITE_ORIGIN})
    assert resp.headers["access-control-allow-origin"] == SITE_ORIGIN
    pre = httpx.options(f"{webchat.base}/messages", headers={
        "Origin": SITE_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status_code == 204
    assert "Authorization" in pre.headers["access-control-allow-headers"]
    refused = httpx.post(f"{webchat.base}/messages", json={}, headers={"Origin": SITE_ORIGIN})
    assert refused.status_code == 401  # no token; the widget can still read why
    assert refused.headers["access-control-allow-origin"] == SITE_ORIGIN
    assert refused.json()["code"] == "signature_invalid"


# -- tokens ---------------------------------------------------------------------------------
def test_tampered_and_foreign_tokens_are_refused(webchat: Webchat) -> None:
    mine = webchat.session()["token"]
    with make_webchat(webchat.hub) as other:
        foreign = other.session()["token"]
    for bad in (foreign, mine[:-4] + ("AAAA" if not mine.endswith("AAAA") else "BBBB"), "garbage"):
        resp = httpx.get(f"{webchat.base}/messages", headers={"Authorization": f"Bearer {bad}"})
        assert resp.status_code == 401, bad
        post = webchat.post(bad, {"type": "message", "client_id": "c-x", "text": "hi"})
        assert post.status_code == 401
    assert httpx.get(f"{webchat.base}/messages").status_code == 401  # no token at all
    assert webchat.conversations() == []


def test_the_generic_webhook_route_refuses_widget_frames(webchat: Webchat) -> None:
    token = webchat.session()["token"]
    resp = httpx.post(f"{webchat.hub.url}/webhooks/webchat/{webchat.public_id}",
                      json={"type": "message", "client_id": "c-1", "text": "hi"},
                      headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert webchat.conversations() == []


def test_a_verified_customer_gets_their_chat_back_on_another_device(webchat: Webchat) -> None:
    good = user_hash(IDENTITY_SECRET, "cust-42")
    laptop = webchat.session(user_id="cust-42", user_hash=good)
    assert laptop["verified"] is True
    webchat.post(laptop["token"], {"type": "message", "client_id": "c-1", "text": "Ordine 4512?"})
    phone = webchat.session(user_id="cust-42", user_hash=good)
    assert [m["text"] for m in webchat.history(phone["token"])] == ["Ordine 4512?"]
    forged = httpx.post(f"{webchat.base}/session", headers={"Origin": SITE_ORIGIN},
                        json={"user_id": "cust-42", "user_hash": user_hash("guessed-secret-123456", "cust-42")})
    assert forged.status_code == 401


# -- history scoping ------------------------------------------------------------------------
def test_a_visitor_never_sees_another_visitors_messages(webchat: Webchat) -> None:
    a, b = webchat.session()["token"], webchat.session()["token"]
    # The same client id from two widgets: still two messages, each in its own chat.
    webchat.post(a, {"type": "message", "client_id": "c-1", "text": "I am A"})
    webchat.post(b, {"type": "message", "client_id": "c-1", "text": "I am B"})
    conv_a = conversation_of(webchat, "I am A")
    webchat.reply(conv_a["id"], "Hello A, this is for you only")
    wait_for(lambda: [m for m in webchat.history(a) if m["from"] == "agent"], "the reply in A's history")
    assert [m["text"] for m in webchat.history(a)] == ["I am A", "Hello A, this is for you only"]
    assert [m["text"] for m in webchat.history(b)] == ["I am B"]


def test_a_visitor_cannot_mark_another_visitors_messages_read(webchat: Webchat) -> None:
    a, b = webchat.session()["token"], webchat.session()["token"]
    webchat.post(a, {"type": "message", "client_id": "c-1", "text": "from A"})
    reply = webchat.reply(conversation_of(webchat, "from A")["id"], "for A")
    wait_for(lambda: webchat.message_status(reply["id"]) == "sent", "the reply to be sent")
    resp = webchat.post(b, {"type": "receipt", "status": "read", "message_ids": [reply["id"]]})
    assert resp.status_code == 200 and resp.json()["acks"] == []
    assert webchat.message_status(reply["id"]) == "sent"
    own = webchat.post(a, {"type": "receipt", "status": "read", "message_ids": [reply["id"]]})
    assert own.json()["acks"] == [{"type": "receipts", "applied": 1}]
    assert webchat.message_status(reply["id"]) == "read"


# -- Origin ---------------------------------------------------------------------------------
def test_sites_the_channel_does_not_list_are_refused(webchat: Webchat) -> None:
    resp = httpx.post(f"{webchat.base}/session", json={}, headers={"Origin": EVIL})
    assert resp.status_code == 403 and resp.json()["field"] == "origin"
    no_origin = httpx.post(f"{webchat.base}/session", json={})
    assert no_origin.status_code == 403
    token = webchat.session()["token"]
    assert webchat.post(token, {"type": "message", "client_id": "c-1", "text": "x"}, origin=EVIL).status_code == 403
    pre = httpx.options(f"{webchat.base}/session", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403
    # The hub's own pages (the /demo preview) may always embed it.
    assert httpx.post(f"{webchat.base}/session", json={}, headers={"Origin": webchat.hub.url}).status_code == 200
    with ws_connect(webchat, token, origin=EVIL) as ws:
        assert json.loads(ws.recv(timeout=10))["code"] == "permission_denied"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert webchat.conversations() == []


def test_without_allowed_origins_any_site_may_embed(webchat: Webchat) -> None:
    with make_webchat(webchat.hub, allowed_origins=[]) as open_chat:
        assert httpx.post(f"{open_chat.base}/session", json={}, headers={"Origin": EVIL}).status_code == 200


# -- the live socket ------------------------------------------------------------------------
def test_live_chat_both_ways_with_delivery_receipts(webchat: Webchat) -> None:
    token = webchat.session(name="Marco")["token"]
    with ws_connect(webchat, token) as ws:
        hello = recv_until(ws, "hello")
        assert hello["messages"] == [] and hello["channel"]["title"] == "Sito web"
        ws.send(json.dumps({"type": "message", "client_id": "c-live-1", "text": "Siete aperti lunedì?"}))
        ack = recv_until(ws, "ack", client_id="c-live-1")
        assert ack["duplicate"] is False
        ws.send(json.dumps({"type": "message", "client_id": "c-live-1", "text": "Siete aperti lunedì?"}))
        assert recv_until(ws, "ack", client_id="c-live-1")["duplicate"] is True

        conv = conversation_of(webchat, "Siete aperti lunedì?")
        reply = webchat.reply(conv["id"], "No, il lunedì siamo chiusi.",
                              buttons=[{"id": "tue", "title": "Martedì allora"}])
        pushed = recv_until(ws, "message")["message"]
        while pushed["from"] != "agent":
            pushed = recv_until(ws, "message")["message"]
        assert (pushed["id"], pushed["text"], pushed["buttons"]) == (
            reply["id"], "No, il lunedì siamo chiusi.", [{"id": "tue", "title": "Martedì allora"}])
        assert "author_user_id" not in pushed  # agents' internal ids stay in the hub

        ws.send(json.dumps({"type": "receipt", "status": "delivered", "message_ids": [reply["id"]]}))
        # The hub echoes the new status (the ack of the receipt may come before or after it).
        assert recv_until(ws, "status", id=reply["id"])["status"] == "delivered"
        assert webchat.message_status(reply["id"]) == "delivered"

        ws.send(json.dumps({"type": "message", "client_id": "c-live-2", "text": "Martedì allora",
                            "button_id": "tue"}))
        recv_until(ws, "ack", client_id="c-live-2")
        ws.send(json.dumps({"type": "message", "client_id": "bad id!", "text": "x"}))
        error = recv_until(ws, "error")
        assert error["field"] == "client_id" and error["client_id"] == "bad id!"
    kinds = [(m["kind"], m["text"]) for m in reversed(webchat.messages(conv["id"]))]
    assert kinds == [("text", "Siete aperti lunedì?"), ("buttons", "No, il lunedì siamo chiusi."),
                     ("button_reply", "Martedì allora")]


def test_a_bad_token_on_the_socket_closes_it_so_the_widget_starts_over(webchat: Webchat) -> None:
    with ws_connect(webchat, "not-a-token") as ws:
        assert json.loads(ws.recv(timeout=10))["code"] == "signature_invalid"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_reconnecting_replays_history_including_replies_sent_while_away(webchat: Webchat) -> None:
    token = webchat.session()["token"]
    webchat.post(token, {"type": "message", "client_id": "c-1", "text": "Posso portare il cane?"})
    reply = webchat.reply(conversation_of(webchat, "Posso portare il cane?")["id"], "Certo!")
    wait_for(lambda: webchat.message_status(reply["id"]) == "sent", "the reply to be sent")
    with ws_connect(webchat, token) as ws:
        hello = recv_until(ws, "hello")
    assert [(m["from"], m["text"]) for m in hello["messages"]] == [("visitor", "Posso portare il cane?"),
                                                                    ("agent", "Certo!")]
    assert hello["messages"][0]["client_id"] == "c-1"
