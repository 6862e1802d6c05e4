"""Visitor tokens, identity verification and the widget frame format (no server needed)."""

from __future__ import annotations

import dataclasses
import json
import time

import httpx
import pytest
from itsdangerous import timed

from crocevia.channels.base import ChannelConfig, IgnoredEvent, InboundMessage, StatusUpdate, WebhookRequest
from crocevia.channels.webchat import testkit
from crocevia.channels.webchat.adapter import WebchatAdapter, widget_url
from crocevia.channels.webchat.tokens import (
    VisitorClaims,
    issue_token,
    new_visitor_claims,
    read_token,
    user_hash,
)
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import SignatureInvalid, ValidationFailed

ADAPTER = WebchatAdapter()


def frame(body: dict[str, object], visitor_id: str = testkit.VISITOR_ID) -> tuple[WebhookRequest, ChannelConfig]:
    cfg = testkit.config()
    return testkit.signed_request(json.dumps(body).encode(), cfg, visitor_id=visitor_id), cfg


def test_a_token_names_its_channel_and_visitor() -> None:
    cfg = testkit.config()
    claims = read_token(issue_token(cfg, VisitorClaims(cfg.public_id, "v_abc", name="Giulia")), cfg)
    assert (claims.channel_public_id, claims.visitor_id, claims.name, claims.user_id) == (
        cfg.public_id, "v_abc", "Giulia", None)


def test_a_tampered_token_is_refused() -> None:
    cfg = testkit.config()
    token = issue_token(cfg, VisitorClaims(cfg.public_id, "v_abc"))
    _, _, rest = token.partition(".")
    # Swap the visitor in the (readable) payload but keep the signature: must not verify.
    other = issue_token(cfg, VisitorClaims(cfg.public_id, "v_someone_else")).partition(".")[0]
    with pytest.raises(SignatureInvalid):
        read_token(f"{other}.{rest}", cfg)
    with pytest.raises(SignatureInvalid):
        read_token(token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"), cfg)


def test_a_token_from_another_channel_is_refused_even_with_the_same_secret() -> None:
    cfg = testkit.config()
    other = dataclasses.replace(cfg, public_id="ch_other_channel")
    token = issue_token(other, VisitorClaims(other.public_id, "v_abc"))
    with pytest.raises(SignatureInvalid, match="another channel"):
        read_token(token, cfg)
    other_secret = dataclasses.replace(cfg, credentials={"widget_secret": "another-secret-0123456789"})
    with pytest.raises(SignatureInvalid):
        read_token(issue_token(other_secret, VisitorClaims(cfg.public_id, "v_abc")), cfg)


def test_an_expired_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = dataclasses.replace(testkit.config(), settings={"token_max_age_days": 1})
    two_days_ago = time.time() - 2 * 86400
    monkeypatch.setattr(timed.time, "time", lambda: two_days_ago)
    token = issue_token(cfg, VisitorClaims(cfg.public_id, "v_abc"))
    monkeypatch.undo()
    with pytest.raises(SignatureInvalid, match="expired"):
        read_token(token, cfg)


def test_a_verified_customer_is_the_same_visitor_everywhere() -> None:
    cfg = testkit.config()
    good = user_hash(str(cfg.credentials["identity_secret"]), "cust-42")
    a = new_visitor_claims(cfg, user_id="cust-42", given_hash=good)
    b = new_visitor_claims(cfg, user_id="cust-42", given_hash=good.upper())
    assert a.visitor_id == b.visitor_id == "u_cust-42" and a.user_id == "cust-42"
    anon1, anon2 = new_visitor_claims(cfg), new_visitor_claims(cfg)
    assert anon1.visitor_id != anon2.visitor_id and anon1.user_id is None


def test_identity_needs_the_right_hash_and_a_configured_secret() -> None:
    cfg = testkit.config()
    with pytest.raises(SignatureInvalid):
        new_visitor_claims(cfg, user_id="cust-42", given_hash=user_hash("a-guessed-secret-1234", "cust-42"))
    with pytest.raises(ValidationFailed) as missing:
        new_visitor_claims(cfg, user_id="cust-42")
    assert missing.value.field == "user_hash"
    no_secret = dataclasses.replace(cfg, credentials={"widget_secret": "widget-secret-0123456789abcdef"})
    with pytest.raises(ValidationFailed) as unverifiable:
        new_visitor_claims(no_secret, user_id="cust-42", given_hash="00")
    assert unverifiable.value.field == "user_id"
    with pytest.raises(ValidationFailed) as bad_email:
        new_visitor_claims(cfg, email="not an email")
    assert bad_email.value.field == "email"


def test_the_generic_webhook_route_is_refused_even_with_a_good_token() -> None:
    req, cfg = frame({"type": "message", "client_id": "c1", "text": "hi"})
    as_webhook = dataclasses.replace(req, url=cfg.webhook_url)
    ADAPTER.verify(req, cfg)
    with pytest.raises(SignatureInvalid, match="widget endpoints"):
        ADAPTER.verify(as_webhook, cfg)


def test_widget_urls_keep_the_hubs_public_prefix() -> None:
    cfg = dataclasses.replace(testkit.config(), webhook_url="https://chat.example/crocevia/webhooks/webchat/ch_x",
                              public_id="ch_x")
    assert widget_url(cfg, "ws") == "https://chat.example/crocevia/webchat/ch_x/ws"


def test_a_message_frame_becomes_a_message_scoped_to_its_visitor() -> None:
    req, cfg = frame({"type": "message", "client_id": "c-1", "text": "Un tavolo per due?"})
    [event] = ADAPTER.parse(req, cfg)
    assert isinstance(event, InboundMessage)
    assert event.external_message_id == f"{testkit.VISITOR_ID}/c-1"
    assert (event.sender_id, event.sender_name, event.kind, event.text) == (
        testkit.VISITOR_ID, "Giulia", MessageKind.TEXT, "Un tavolo per due?")
    req_b, _ = frame({"type": "message", "client_id": "c-1", "text": "same client id"}, visitor_id="v_other")
    [other] = ADAPTER.parse(req_b, cfg)
    assert isinstance(other, InboundMessage) and other.external_message_id != event.external_message_id


def test_a_button_click_is_a_button_reply() -> None:
    req, cfg = frame({"type": "message", "client_id": "c-2", "text": "Sì, alle 20", "button_id": "yes"})
    [event] = ADAPTER.parse(req, cfg)
    assert isinstance(event, InboundMessage)
    assert event.kind is MessageKind.BUTTON_REPLY and event.content == {"id": "yes", "title": "Sì, alle 20"}


def test_receipts_become_status_updates_and_typing_is_ignored() -> None:
    req, cfg = frame({"type": "receipt", "status": "read", "message_ids": [7, 9, 7]})
    assert ADAPTER.parse(req, cfg) == [
        StatusUpdate("wc-7", MessageStatus.READ), StatusUpdate("wc-9", MessageStatus.READ)]
    req, cfg = frame({"type": "typing"})
    assert ADAPTER.parse(req, cfg) == [IgnoredEvent("webchat:typing")]


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "message", "client_id": "has space", "text": "x"}, "client_id"),
    ({"type": "message", "client_id": "c-3", "text": "   "}, "text"),
    ({"type": "message", "client_id": "c-3", "text": "x" * 4001}, "text"),
    ({"type": "message", "client_id": "c-3", "text": "x", "button_id": {"a": 1}}, "button_id"),
    ({"type": "receipt", "status": "sent", "message_ids": [1]}, "status"),
    ({"type": "receipt", "status": "read", "message_ids": ["1"]}, "message_ids"),
    ({"type": "receipt", "status": "read", "message_ids": []}, "message_ids"),
])
def test_bad_frames_name_the_field(body: dict[str, object], field: str) -> None:
    req, cfg = frame(body)
    with pytest.raises(ValidationFailed) as err:
        ADAPTER.parse(req, cfg)
    assert err.value.field == field


def test_a_body_that_is_not_a_json_object_is_a_validation_error() -> None:
    cfg = testkit.config()
    for body in (b"not json", b"[1, 2]"):
        with pytest.raises(ValidationFailed):
            ADAPTER.parse(testkit.signed_request(body, cfg), cfg)


def test_send_needs_no_network_and_names_the_message() -> None:
    from crocevia.channels.base import OutboundMessage

    out = OutboundMessage(message_id=51, idempotency_key="k", recipient_id="v_abc", kind=MessageKind.TEXT, text="hi")
    with httpx.Client(transport=httpx.MockTransport(lambda r: pytest.fail(f"unexpected call {r.url}"))) as http:
        assert ADAPTER.send(out, testkit.config(), http).provider_message_id == "wc-51"
