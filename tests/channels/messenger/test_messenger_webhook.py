"""Messenger uses Meta's hub.challenge set-up and X-Hub-Signature-256, keyed by the App Secret."""

from __future__ import annotations

import dataclasses

import pytest

from crocevia.channels.base import WebhookRequest
from crocevia.channels.messenger import testkit
from crocevia.channels.messenger.adapter import MessengerAdapter
from crocevia.channels.meta.testkit_common import challenge_request
from crocevia.errors import SignatureInvalid

ADAPTER = MessengerAdapter()
CFG = testkit.config()
BODY = (testkit.FIXTURES / "messages__text.json").read_bytes()


def test_handshake_echoes_the_challenge_for_the_right_token() -> None:
    reply = ADAPTER.handshake(challenge_request(CFG, "fb-verify-token-123", "CHALLENGE_ACCEPTED"), CFG)
    assert reply is not None
    assert (reply.status, reply.body) == (200, b"CHALLENGE_ACCEPTED")


def test_handshake_with_the_wrong_token_is_forbidden() -> None:
    reply = ADAPTER.handshake(challenge_request(CFG, "wa-verify-token-123"), CFG)
    assert reply is not None
    assert reply.status == 403


def test_handshake_with_a_mode_other_than_subscribe_is_refused() -> None:
    req = challenge_request(CFG, "fb-verify-token-123")
    req = dataclasses.replace(req, query={**req.query, "hub.mode": "unsubscribe"})
    reply = ADAPTER.handshake(req, CFG)
    assert reply is not None
    assert reply.status == 400


def test_signed_body_verifies_and_one_changed_byte_does_not() -> None:
    req = testkit.signed_request(BODY, CFG)
    ADAPTER.verify(req, CFG)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(dataclasses.replace(req, body=BODY.replace(b"Ciao", b"Ciai")), CFG)


def test_missing_signature_is_refused() -> None:
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(WebhookRequest("POST", CFG.webhook_url, {}, {}, BODY), CFG)


def test_signature_of_another_meta_app_is_refused() -> None:
    whatsapp_app = dataclasses.replace(
        CFG, credentials={**CFG.credentials, "app_secret": "wa-app-secret-0123456789abcdef"}
    )
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(testkit.signed_request(BODY, whatsapp_app), CFG)
