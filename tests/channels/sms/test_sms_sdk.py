"""Signatures made by Twilio's own Python SDK (twilio.request_validator) are accepted, and
the same request with one byte changed is refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator

from crocevia.channels.base import InboundMessage, StatusUpdate, WebhookRequest
from crocevia.channels.registry import get_adapter
from crocevia.channels.sms import testkit
from crocevia.domain.enums import MessageStatus
from crocevia.errors import SignatureInvalid

ADAPTER = get_adapter("sms")
CFG = testkit.config()
SHARED_KEY = "whsk_0f9e8d7c6b5a49382716f5e4d3c2b1a0"


def twilio_request(body: bytes, url: str, *, token: str = testkit.AUTH_TOKEN, algorithm: str | None = None,
                   extra_headers: dict[str, str] | None = None) -> WebhookRequest:
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    signature = RequestValidator(token).compute_signature(url, params, algorithm)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature,
               **(extra_headers or {})}
    return WebhookRequest("POST", url, headers, {}, body)


def flip(req: WebhookRequest, index: int) -> WebhookRequest:
    body = bytearray(req.body)
    body[index] ^= 0x01
    return replace(req, body=bytes(body))


@pytest.mark.parametrize("name", sorted(p.name for p in testkit.FIXTURES.iterdir()))
def test_sdk_signed_fixture_is_accepted_and_a_changed_byte_refused(name: str) -> None:
    body = (testkit.FIXTURES / name).read_bytes()
    req = twilio_request(body, CFG.webhook_url)
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    assert RequestValidator(testkit.AUTH_TOKEN).validate(req.url, params, req.headers["x-twilio-signature"])
    ADAPTER.verify(req, CFG)
    assert ADAPTER.parse(req, CFG)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(flip(req, len(body) // 2), CFG)


@pytest.mark.parametrize("name", sorted(p.name for p in testkit.FIXTURES.iterdir()))
def test_our_testkit_signs_exactly_like_the_sdk(name: str) -> None:
    body = (testkit.FIXTURES / name).read_bytes()
    ours = testkit.signed_request(body, CFG).headers["x-twilio-signature"]
    assert ours == twilio_request(body, CFG.webhook_url).headers["x-twilio-signature"]


def test_signature_made_with_the_default_port_is_accepted() -> None:
    # Twilio sometimes signs "https://host:443/..." while the hub sees "https://host/...".
    body = (testkit.FIXTURES / "message__text.form").read_bytes()
    signed_with_port = twilio_request(body, "https://hub.example.com:443/webhooks/sms/ch_test_sms")
    ADAPTER.verify(replace(signed_with_port, url=CFG.webhook_url), CFG)


def test_query_string_is_part_of_what_is_signed() -> None:
    body = (testkit.FIXTURES / "message__text.form").read_bytes()
    url = CFG.webhook_url + "?tenant=trattoria"
    req = twilio_request(body, url)
    ADAPTER.verify(req, CFG)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(replace(req, url=url.replace("trattoria", "trattorib")), CFG)


def test_shared_key_hmac_sha256_signature() -> None:
    cfg = replace(CFG, credentials={**CFG.credentials, "webhook_shared_key": SHARED_KEY})
    body = (testkit.FIXTURES / "status__delivered.form").read_bytes()
    settings = {"x-twilio-webhooks-signature-settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    req = twilio_request(body, cfg.webhook_url, token=SHARED_KEY, algorithm="HMAC_SHA256", extra_headers=settings)
    ADAPTER.verify(req, cfg)
    assert ADAPTER.parse(req, cfg) == [StatusUpdate("SM9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", MessageStatus.DELIVERED)]
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(flip(req, 10), cfg)
    # Without the shared key configured, such a request cannot be checked, so it is refused.
    with pytest.raises(SignatureInvalid, match="SharedKey"):
        ADAPTER.verify(req, CFG)


def test_json_webhook_with_body_sha256() -> None:
    body = json.dumps({"MessageSid": "SM1", "MessageStatus": "delivered"}).encode()
    url = f"{CFG.webhook_url}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    validator = RequestValidator(testkit.AUTH_TOKEN)
    signature = validator.compute_signature(url, {})
    assert validator.validate(url, body.decode(), signature)
    req = WebhookRequest("POST", url, {"content-type": "application/json", "x-twilio-signature": signature}, {},
                         body)
    ADAPTER.verify(req, CFG)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(flip(req, 5), CFG)


def test_get_webhook_signs_only_the_url() -> None:
    fields = {"MessageSid": "SMget1", "From": "+14155550100", "To": "+14155550199", "Body": "ciao", "NumMedia": "0"}
    url = f"{CFG.webhook_url}?{urlencode(fields)}"
    signature = RequestValidator(testkit.AUTH_TOKEN).compute_signature(url, {})
    req = WebhookRequest("GET", url, {"x-twilio-signature": signature}, fields, b"")
    ADAPTER.verify(req, CFG)
    [event] = ADAPTER.parse(req, CFG)
    assert isinstance(event, InboundMessage)
    assert (event.external_message_id, event.text) == ("SMget1", "ciao")
