"""Every Twilio fixture, verified and parsed as the hub's webhook route would."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import pytest

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    StatusUpdate,
    WebhookRequest,
)
from crocevia.channels.registry import get_adapter
from crocevia.channels.sms import testkit
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import SignatureInvalid, ValidationFailed

ADAPTER = get_adapter("sms")
CFG = testkit.config()
FIXTURE_NAMES = sorted(p.name for p in testkit.FIXTURES.iterdir())
AC = testkit.ACCOUNT_SID


def load(name: str) -> bytes:
    return (testkit.FIXTURES / name).read_bytes()


def only(name: str) -> InboundEvent:
    req = testkit.signed_request(load(name), CFG, name)
    ADAPTER.verify(req, CFG)
    events = ADAPTER.parse(req, CFG)
    assert len(events) == 1
    return events[0]


# -- verification ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_verifies_and_parses(name: str) -> None:
    assert only(name) is not None


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_single_byte_change_of_the_body_is_refused(name: str) -> None:
    body = load(name)
    req = testkit.signed_request(body, CFG, name)
    for i in range(len(body)):
        changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
        with pytest.raises(SignatureInvalid):
            ADAPTER.verify(replace(req, body=changed), CFG)


def test_missing_signature_is_refused() -> None:
    req = testkit.signed_request(load("message__text.form"), CFG)
    bare = replace(req, headers={k: v for k, v in req.headers.items() if k != "x-twilio-signature"})
    with pytest.raises(SignatureInvalid, match="missing"):
        ADAPTER.verify(bare, CFG)


def test_signature_for_another_url_is_refused() -> None:
    # Twilio signs the URL it called: a request replayed to another channel's URL fails.
    req = testkit.signed_request(load("message__text.form"), CFG)
    moved = replace(req, url="https://hub.example.com/webhooks/sms/ch_other")
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(moved, CFG)


def test_wrong_auth_token_is_refused() -> None:
    other = replace(CFG, credentials={**CFG.credentials, "auth_token": "0" * 32})
    req = testkit.signed_request(load("message__text.form"), other)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(req, CFG)


def test_body_that_is_not_utf8_is_refused_as_unsigned() -> None:
    req = testkit.signed_request(load("message__text.form"), CFG)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(replace(req, body=b"Body=\xff\xfe"), CFG)


# -- messages -------------------------------------------------------------------------------
def test_incoming_text() -> None:
    assert only("message__text.form") == InboundMessage(
        external_message_id="SM1f0e8ae6ade43cb3c0ce4525424e404f",
        sender_id="+14155550100",
        sender_phone="+14155550100",
        kind=MessageKind.TEXT,
        text="Hi! Is my order #1042 ready for pickup?",
        content={"to": "+14155550199", "country": "US", "city": "SAN FRANCISCO"},
    )


def test_stop_is_flagged_as_opt_out() -> None:
    ev = only("message__stop.form")
    assert isinstance(ev, InboundMessage)
    assert ev.text == "Stop"
    assert ev.content["keyword"] == "opt_out"


def test_italian_opt_out_with_accent_and_punctuation() -> None:
    ev = only("message__optout_italian.form")
    assert isinstance(ev, InboundMessage)
    assert ev.text == "Disiscrivì!"
    assert ev.content == {"to": "+393399990000", "keyword": "opt_out", "country": "IT"}
    assert ev.sender_phone == "+393331234567"


def test_ordinary_text_has_no_keyword() -> None:
    ev = only("message__text.form")
    assert isinstance(ev, InboundMessage)
    assert "keyword" not in ev.content


def test_mms_lists_every_media_with_its_type() -> None:
    ev = only("message__mms.form")
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.MEDIA
    assert ev.text == "Here is the damaged box"
    base = f"https://api.twilio.com/2010-04-01/Accounts/{AC}/Messages/MM4c6e8a0b2d4f6a8c0e2a4c6e8a0b2d4f/Media/"
    photo, pdf = "ME0a1b2c3d4e5f60718293a4b5c6d7e8f9", "ME9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    assert ev.media == (
        MediaRef(provider_media_id=photo, url=base + photo, mime_type="image/jpeg"),
        MediaRef(provider_media_id=pdf, url=base + pdf, mime_type="application/pdf"),
    )


# -- status callbacks -----------------------------------------------------------------------
def test_sent_and_delivered() -> None:
    sid = "SM9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
    assert only("status__sent.form") == StatusUpdate(sid, MessageStatus.SENT)
    assert only("status__delivered.form") == StatusUpdate(sid, MessageStatus.DELIVERED)


def test_undelivered_carries_twilios_error() -> None:
    assert only("status__undelivered.form") == StatusUpdate(
        "SM0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a", MessageStatus.FAILED, error="30003 Unreachable destination handset")


def test_failed_to_unsubscribed_recipient() -> None:
    ev = only("status__failed_unsubscribed.form")
    assert isinstance(ev, StatusUpdate)
    assert ev.status is MessageStatus.FAILED
    assert ev.error == "21610 Attempt to send to unsubscribed recipient"


def _signed(fields: list[tuple[str, str]]) -> WebhookRequest:
    return testkit.signed_request(urlencode(fields).encode(), CFG)


def test_status_value_twilio_may_add_later_is_ignored() -> None:
    req = _signed([("MessageSid", "SM1"), ("MessageStatus", "teleported")])
    ADAPTER.verify(req, CFG)
    assert ADAPTER.parse(req, CFG) == [IgnoredEvent("twilio-status:teleported")]


def test_webhook_that_is_neither_message_nor_status_is_ignored() -> None:
    req = _signed([("AccountSid", AC), ("SmsStatus", "receiving")])
    assert ADAPTER.parse(req, CFG) == [IgnoredEvent("twilio:receiving")]


# -- malformed ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ([("From", "+14155550100"), ("Body", "hi")], "MessageSid"),
        ([("MessageSid", "SM1"), ("Body", "hi")], "From"),
        ([("MessageSid", "SM1"), ("From", "+1"), ("Body", ""), ("NumMedia", "two")], "NumMedia"),
        ([("MessageSid", "SM1"), ("From", "+1"), ("Body", ""), ("NumMedia", "1")], "MediaUrl0"),
        ([("MessageStatus", "delivered")], "MessageSid"),
    ],
)
def test_malformed_webhooks_name_the_field(fields: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        ADAPTER.parse(_signed(fields), CFG)
    assert err.value.field == field


def test_ack_is_empty_twiml_so_twilio_sends_no_reply() -> None:
    reply = ADAPTER.ack(_signed([("MessageSid", "SM1")]), CFG, [])
    assert (reply.status, reply.content_type) == (200, "text/xml")
    assert reply.body == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def test_fixture_files_have_no_trailing_newline() -> None:
    for name in FIXTURE_NAMES:
        assert not load(name).endswith(b"\n"), name
