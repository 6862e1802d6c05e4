"""The set-up handshake and the X-Hub-Signature-256 check, as Meta performs them."""

from __future__ import annotations

import dataclasses

import pytest

from crocevia.channels.base import WebhookRequest
from crocevia.channels.meta.testkit_common import challenge_request
from crocevia.channels.whatsapp import testkit
from crocevia.channels.whatsapp.adapter import WhatsAppAdapter
from crocevia.errors import SignatureInvalid

ADAPTER = WhatsAppAdapter()
CFG = testkit.config()
BODY = (testkit.FIXTURES / "messages__text.json").read_bytes()


def test_handshake_echoes_the_challenge_when_the_verify_token_matches() -> None:
    reply = ADAPTER.handshake(challenge_request(CFG, "wa-verify-token-123", "1158201444"), CFG)
    assert reply is not None
    assert (reply.status, reply.body, reply.content_type) == (200, b"1158201444", "text/plain")


def test_handshake_with_a_wrong_verify_token_is_forbidden() -> None:
    reply = ADAPTER.handshake(challenge_request(CFG, "guessed-token"), CFG)
    assert reply is not None
    assert reply.status == 403
    assert b"1158201444" not in reply.body


def test_handshake_ignores_event_posts() -> None:
    assert ADAPTER.handshake(testkit.signed_request(BODY, CFG), CFG) is None


def test_a_correctly_signed_body_verifies() -> None:
    ADAPTER.verify(testkit.signed_request(BODY, CFG), CFG)


def test_one_changed_byte_fails_the_signature() -> None:
    req = testkit.signed_request(BODY, CFG)
    tampered = dataclasses.replace(req, body=BODY.replace(b"stasera", b"stasero"))
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(tampered, CFG)


def test_a_missing_signature_is_refused() -> None:
    req = WebhookRequest("POST", CFG.webhook_url, {"content-type": "application/json"}, {}, BODY)
    with pytest.raises(SignatureInvalid, match="missing X-Hub-Signature-256"):
        ADAPTER.verify(req, CFG)


def test_a_body_signed_with_another_apps_secret_is_refused() -> None:
    other = dataclasses.replace(CFG, credentials={**CFG.credentials, "app_secret": "someone-elses-secret"})
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(testkit.signed_request(BODY, other), CFG)


def test_the_legacy_sha1_header_alone_is_not_accepted() -> None:
    req = testkit.signed_request(BODY, CFG)
    headers = {k: v for k, v in req.headers.items() if k != "x-hub-signature-256"}
    headers["x-hub-signature"] = "sha1=" + "0" * 40
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(dataclasses.replace(req, headers=headers), CFG)


def test_a_channel_without_an_app_secret_refuses_everything() -> None:
    blank = dataclasses.replace(CFG, credentials={**CFG.credentials, "app_secret": ""})
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(testkit.signed_request(BODY, CFG), blank)
