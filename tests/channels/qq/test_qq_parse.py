"""QQ webhooks: what each fixture becomes, the validation handshake, and what is refused."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime

import pytest

from crocevia.channels.base import IgnoredEvent, InboundEvent, InboundMessage, MediaRef, WebhookRequest
from crocevia.channels.qq import testkit
from crocevia.channels.qq.adapter import QQAdapter
from crocevia.domain.enums import MessageKind
from crocevia.errors import SignatureInvalid, ValidationFailed

ADAPTER = QQAdapter()
USER = "E4F4AEA33253A2797FB897C50B81D7ED"
MEMBER = "7C1A4F2B9E3D5A6C8B0E2F4A6C8E0B2D"
GROUP = "C9F778FE6ADF9D1D1DBE395BF744A33A"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


EXPECTED: dict[str, InboundEvent] = {
    "message__c2c_text.json": InboundMessage(
        external_message_id="ROBOT1.0_.b6nx.CVryAO0nR58RXuU6SC.m92gc19j02qKqdm8ek!", sender_id=USER,
        kind=MessageKind.TEXT, text="你好，今晚还能订位吗？", timestamp=_utc("2025-11-24T20:15:07+08:00")),
    "message__c2c_image.json": InboundMessage(
        external_message_id="ROBOT1.0_kxRnwVHb6Fz1IYJ3LzP3aQ!!", sender_id=USER, kind=MessageKind.MEDIA,
        media=(MediaRef(url="https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=EhQ2example"
                            "&rkey=CAQSKAB6example",
                        mime_type="image/jpeg", filename="3B2CE9A0D8E2C7A1F3F0E6A4A3D9C1B2.jpg"),),
        timestamp=_utc("2025-11-24T20:16:40+08:00")),
    "message__group_at_text.json": InboundMessage(
        external_message_id="ROBOT1.0_eBIyWnxpmSu6uLQ7u7fU0eGloKGYg4eEa737vRyKnMCgyZjKi7JLYkQ9B0VapbiY",
        sender_id=MEMBER, kind=MessageKind.TEXT, text="周六下午营业吗", thread_id=GROUP,
        timestamp=_utc("2025-11-24T20:20:11+08:00")),
    "message__group_at_video.json": InboundMessage(
        external_message_id="ROBOT1.0_Gq3mVf0Ae1f9Bz2kY7cWdA!!", sender_id=MEMBER, kind=MessageKind.MEDIA,
        text="看看这个", thread_id=GROUP,
        media=(MediaRef(url="https://multimedia.nt.qq.com.cn/download?appid=1415&fileid=CgVexample",
                        mime_type="video/mp4", filename="clip.mp4"),),
        timestamp=_utc("2025-11-24T20:21:30+08:00")),
    "interaction__c2c_button.json": InboundMessage(
        external_message_id="event:30540ff7-9d8f-4737-83f1-e116ce6afa8b", sender_id=USER,
        kind=MessageKind.BUTTON_REPLY, text="confirm_booking_42",
        content={"id": "21", "payload": "confirm_booking_42", "interaction_type": 11},
        timestamp=_utc("2025-11-24T20:25:00+08:00")),
    "interaction__group_button.json": InboundMessage(
        external_message_id="event:6d1c2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e", sender_id=MEMBER,
        kind=MessageKind.BUTTON_REPLY, text="menu_today", thread_id=GROUP,
        content={"id": "7", "payload": "menu_today", "interaction_type": 11},
        timestamp=_utc("2025-11-24T20:26:00+08:00")),
    "event__friend_add.json": IgnoredEvent("FRIEND_ADD"),
    "event__c2c_msg_reject.json": IgnoredEvent("C2C_MSG_REJECT"),
    "event__group_add_robot.json": IgnoredEvent("GROUP_ADD_ROBOT"),
    "validation__op13.json": IgnoredEvent("validation"),
    "unknown__direct_message_create.json": IgnoredEvent("DIRECT_MESSAGE_CREATE"),
}


def _request(name: str) -> WebhookRequest:
    return testkit.signed_request((testkit.FIXTURES / name).read_bytes(), testkit.config(), name)


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in testkit.FIXTURES.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_becomes_the_expected_event(name: str) -> None:
    cfg = testkit.config()
    req = _request(name)
    ADAPTER.verify(req, cfg)
    assert ADAPTER.parse(req, cfg) == [EXPECTED[name]]


def test_events_are_acknowledged_with_op_12() -> None:
    cfg = testkit.config()
    req = _request("message__c2c_text.json")
    reply = ADAPTER.ack(req, cfg, ADAPTER.parse(req, cfg))
    assert (reply.status, json.loads(reply.body), reply.content_type) == (200, {"op": 12}, "application/json")


# -- signatures: the official demo vectors ----------------------------------------------------
def test_the_official_signing_demo_verifies() -> None:
    # sign.md: secret naOC0ocQE3shWLAfffVLB1rhYPG7, timestamp 1725442341. The page renders the body
    # on one line; the signature is over the pretty-printed JSON (two-space indent).
    body = b'{\n  "op": 0,\n  "d": {},\n  "t": "GATEWAY_EVENT_NAME"\n}'
    sig = ("865ad13a61752ca65e26bde6676459cd36cf1be609375b37bd62af366e1dc25a"
           "8dc789ba7f14e017ada3d554c671a911bfdf075ba54835b23391d509579ed002")
    cfg = testkit.config(max_clock_skew_seconds=0)  # the demo is from 2024
    req = WebhookRequest("POST", cfg.webhook_url, {"x-signature-ed25519": sig,
                                                    "x-signature-timestamp": "1725442341"}, {}, body)
    ADAPTER.verify(req, cfg)
    assert ADAPTER.parse(req, cfg) == [IgnoredEvent("GATEWAY_EVENT_NAME")]
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(dataclasses.replace(req, body=body.replace(b"0", b"1")), cfg)


def test_the_official_validation_demo_is_answered_exactly() -> None:
    # event-emit.md: appid 11111111, secret DG5g3B4j9X2KOErG.
    cfg = dataclasses.replace(testkit.config(), credentials={"app_id": "11111111",
                                                             "app_secret": "DG5g3B4j9X2KOErG"})
    req = WebhookRequest("POST", cfg.webhook_url, {"user-agent": "QQBot-Callback", "x-bot-appid": "11111111"},
                         {}, b'{"d":{"plain_token":"Arq0D5A61EgUu4OxUvOp","event_ts":"1725442341"},"op":13}')
    reply = ADAPTER.handshake(req, cfg)
    assert reply is not None
    assert json.loads(reply.body) == {
        "plain_token": "Arq0D5A61EgUu4OxUvOp",
        "signature": "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d0"
                     "1bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706",
    }


def test_a_validation_for_another_bot_is_refused() -> None:
    cfg = testkit.config()
    req = WebhookRequest("POST", cfg.webhook_url, {"x-bot-appid": "99999999"}, {},
                         (testkit.FIXTURES / "validation__op13.json").read_bytes())
    with pytest.raises(SignatureInvalid):
        ADAPTER.handshake(req, cfg)


def test_a_validation_with_a_bad_signature_is_refused() -> None:
    cfg = testkit.config()
    req = _request("validation__op13.json")
    bad = dict(req.headers, **{"x-signature-ed25519": "00" * 64})
    with pytest.raises(SignatureInvalid):
        ADAPTER.handshake(dataclasses.replace(req, headers=bad), cfg)


@pytest.mark.parametrize("plain_token", ['{"op":0,"d":{}}', "", "x" * 200])
def test_the_validation_never_signs_something_shaped_like_an_event(plain_token: str) -> None:
    # Signing event_ts + plain_token for anyone must not yield a valid signature for a forged event.
    cfg = testkit.config()
    body = json.dumps({"op": 13, "d": {"plain_token": plain_token, "event_ts": "1725442341"}}).encode()
    with pytest.raises(ValidationFailed):
        ADAPTER.handshake(WebhookRequest("POST", cfg.webhook_url, {}, {}, body), cfg)


def test_an_event_is_not_a_handshake() -> None:
    assert ADAPTER.handshake(_request("message__c2c_text.json"), testkit.config()) is None


# -- refusals ---------------------------------------------------------------------------------
def test_a_stale_timestamp_is_refused_as_a_replay() -> None:
    old = str(int(time.time()) - 3600)
    req = testkit.signed_request((testkit.FIXTURES / "message__c2c_text.json").read_bytes(), testkit.config(),
                                 timestamp=old)
    with pytest.raises(SignatureInvalid, match="clock skew"):
        ADAPTER.verify(req, testkit.config())


def test_a_signature_with_the_high_bits_of_s_set_is_refused_before_verifying() -> None:
    req = _request("message__c2c_text.json")
    sig = bytearray(bytes.fromhex(req.headers["x-signature-ed25519"]))
    sig[63] |= 0xE0
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(dataclasses.replace(req, headers={**req.headers, "x-signature-ed25519": sig.hex()}),
                       testkit.config())


def test_a_signature_by_another_bot_is_refused() -> None:
    other = dataclasses.replace(testkit.config(), credentials={"app_id": "1", "app_secret": "another-secret"})
    req = testkit.signed_request((testkit.FIXTURES / "message__c2c_text.json").read_bytes(), other)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(req, testkit.config())


def test_a_signature_that_is_not_hex_is_refused() -> None:
    req = _request("message__c2c_text.json")
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(dataclasses.replace(req, headers={**req.headers, "x-signature-ed25519": "zz" * 64}),
                       testkit.config())


# -- malformed payloads -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"d": {}}', "op"),
        (b'{"op": 0, "d": {}}', "t"),
        (b'{"op": 0, "t": "C2C_MESSAGE_CREATE", "d": "text"}', "d"),
        (b'{"op": 0, "t": "C2C_MESSAGE_CREATE", "d": {"author": {"user_openid": "u"}, "content": "x"}}', "d.id"),
        (b'{"op": 0, "t": "C2C_MESSAGE_CREATE", "d": {"id": "m", "author": {}, "content": "x"}}',
         "d.author.user_openid"),
        (b'{"op": 0, "t": "GROUP_AT_MESSAGE_CREATE", "d": {"id": "m", "author": {"member_openid": "u"}}}',
         "d.group_openid"),
        (b'{"op": 0, "t": "C2C_MESSAGE_CREATE", "d": {"id": "m", "author": {"user_openid": "u"},'
         b' "timestamp": "yesterday"}}', "d.timestamp"),
        (b'{"op": 0, "t": "C2C_MESSAGE_CREATE", "d": {"id": "m", "author": {"user_openid": "u"},'
         b' "attachments": [{"content_type": "image/png"}]}}', "d.attachments[0].url"),
        (b'{"op": 0, "t": "INTERACTION_CREATE", "d": {"id": "i", "chat_type": 2, "data": {}}}',
         "d.user_openid"),
    ],
)
def test_malformed_payloads_name_the_field(payload: bytes, field: str) -> None:
    cfg = testkit.config()
    req = testkit.signed_request(payload, cfg)
    ADAPTER.verify(req, cfg)  # correctly signed: the content is what is wrong
    with pytest.raises(ValidationFailed) as caught:
        ADAPTER.parse(req, cfg)
    assert caught.value.field == field


def test_other_opcodes_are_acknowledged_not_errors() -> None:
    cfg = testkit.config()
    req = testkit.signed_request(b'{"op": 11}', cfg)
    assert ADAPTER.parse(req, cfg) == [IgnoredEvent("op:11")]
