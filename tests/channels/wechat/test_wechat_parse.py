"""WeChat callbacks: what each fixture becomes, and what is refused before anything is parsed."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    StatusUpdate,
)
from crocevia.channels.wechat import crypto, testkit
from crocevia.channels.wechat.adapter import WeChatAdapter
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import SignatureInvalid, ValidationFailed

ADAPTER = WeChatAdapter()
USER = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# fixture file -> the one event a user of the hub should get from it
EXPECTED: dict[str, InboundEvent] = {
    "message__text.xml": InboundMessage(
        external_message_id="24318273645012345", sender_id=USER, kind=MessageKind.TEXT,
        text="你好，请问今晚还有位子吗？", timestamp=_at(1764000000)),
    "message__text_aes.xml": InboundMessage(
        external_message_id="24318273645012400", sender_id=USER, kind=MessageKind.TEXT,
        text="安全模式下的消息", timestamp=_at(1764000200)),
    "message__image.xml": InboundMessage(
        external_message_id="24318273645012346", sender_id=USER, kind=MessageKind.MEDIA,
        media=(MediaRef(provider_media_id="Jz5Lr8WmOQk1nqJ2example_image_media_id",
                        url="http://mmbiz.qpic.cn/mmbiz_jpg/Q3auHgzwzM5example/0"),),
        content={"type": "image"}, timestamp=_at(1764000010)),
    "message__voice.xml": InboundMessage(
        external_message_id="24318273645012347", sender_id=USER, kind=MessageKind.MEDIA,
        text="我想预订两个人",
        media=(MediaRef(provider_media_id="voice_media_id_7x1Yq0example", mime_type="audio/amr"),),
        content={"type": "voice", "recognition": "我想预订两个人"}, timestamp=_at(1764000020)),
    "message__video.xml": InboundMessage(
        external_message_id="24318273645012348", sender_id=USER, kind=MessageKind.MEDIA,
        media=(MediaRef(provider_media_id="video_media_id_Kq2example", mime_type="video/mp4"),),
        content={"type": "video", "thumb_media_id": "thumb_media_id_Kq2example"}, timestamp=_at(1764000030)),
    "message__location.xml": InboundMessage(
        external_message_id="24318273645012349", sender_id=USER, kind=MessageKind.LOCATION,
        text="上海市黄浦区人民广场",
        content={"latitude": 31.230416, "longitude": 121.473701, "name": "上海市黄浦区人民广场", "scale": 15.0},
        timestamp=_at(1764000040)),
    "message__link.xml": InboundMessage(
        external_message_id="24318273645012350", sender_id=USER, kind=MessageKind.TEXT,
        text="菜单 2025\nhttps://example.com/menu",
        content={"link": {"title": "菜单 2025", "description": "我们的新菜单", "url": "https://example.com/menu"}},
        timestamp=_at(1764000050)),
    "message__menu_reply.xml": InboundMessage(
        external_message_id="24318273645012351", sender_id=USER, kind=MessageKind.BUTTON_REPLY,
        text="满意", content={"id": "101", "title": "满意"}, timestamp=_at(1764000060)),
    "event__click.xml": InboundMessage(
        external_message_id=f"{USER}:1764000070", sender_id=USER, kind=MessageKind.BUTTON_REPLY,
        text="BOOK_TABLE", content={"id": "BOOK_TABLE", "source": "menu"}, timestamp=_at(1764000070)),
    "event__click_aes.xml": InboundMessage(
        external_message_id=f"{USER}:1764000210", sender_id=USER, kind=MessageKind.BUTTON_REPLY,
        text="OPENING_HOURS", content={"id": "OPENING_HOURS", "source": "menu"}, timestamp=_at(1764000210)),
    "event__subscribe.xml": IgnoredEvent("event:subscribe"),
    "event__unsubscribe.xml": IgnoredEvent("event:unsubscribe"),
    "event__view.xml": IgnoredEvent("event:view"),
    "event__template_send_job_finish.xml": StatusUpdate("200163836", MessageStatus.DELIVERED, _at(1764000100)),
    "event__template_send_job_finish_blocked.xml": StatusUpdate(
        "200163840", MessageStatus.FAILED, _at(1764000110), error="failed:user block"),
    "event__template_send_job_finish_aes.xml": StatusUpdate(
        "200163901", MessageStatus.FAILED, _at(1764000220), error="failed: system failed"),
    "unknown__masssendjobfinish.xml": IgnoredEvent("event:masssendjobfinish"),
}


def _parsed(name: str, **settings: Any) -> list[InboundEvent]:
    cfg = testkit.config(**settings)
    req = testkit.signed_request((testkit.FIXTURES / name).read_bytes(), cfg, name)
    ADAPTER.verify(req, cfg)
    return ADAPTER.parse(req, cfg)


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in testkit.FIXTURES.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_becomes_the_expected_event(name: str) -> None:
    assert _parsed(name) == [EXPECTED[name]]


def test_events_without_msgid_dedupe_on_sender_and_create_time() -> None:
    first = _parsed("event__click.xml")
    again = _parsed("event__click.xml")  # WeChat's retry: same body, new nonce/timestamp
    assert first == again
    assert isinstance(first[0], InboundMessage)
    assert first[0].external_message_id == f"{USER}:1764000070"


def test_the_server_url_check_echoes_echostr() -> None:
    cfg = testkit.config()
    reply = ADAPTER.handshake(testkit.handshake_request(cfg, "4930281746230985"), cfg)
    assert reply is not None
    assert (reply.status, reply.body, reply.content_type) == (200, b"4930281746230985", "text/plain")


def test_the_server_url_check_with_a_wrong_signature_is_refused() -> None:
    cfg = testkit.config()
    with pytest.raises(SignatureInvalid):
        ADAPTER.handshake(testkit.tamper(testkit.handshake_request(cfg, "4930281746230985")), cfg)


def test_a_post_is_not_a_handshake() -> None:
    cfg = testkit.config()
    req = testkit.signed_request((testkit.FIXTURES / "message__text.xml").read_bytes(), cfg)
    assert ADAPTER.handshake(req, cfg) is None


def test_ack_is_the_plain_word_success() -> None:
    cfg = testkit.config(message_mode="safe")
    req = testkit.signed_request((testkit.FIXTURES / "message__text_aes.xml").read_bytes(), cfg)
    reply = ADAPTER.ack(req, cfg, ADAPTER.parse(req, cfg))
    assert (reply.status, reply.body) == (200, b"success")


# -- refusals ---------------------------------------------------------------------------------
def test_safe_mode_refuses_an_unencrypted_callback() -> None:
    cfg = testkit.config(message_mode="safe")
    req = testkit.signed_request((testkit.FIXTURES / "message__text.xml").read_bytes(), cfg)
    with pytest.raises(SignatureInvalid, match="safe mode"):
        ADAPTER.verify(req, cfg)


def test_safe_mode_accepts_an_encrypted_callback() -> None:
    events = _parsed("message__text_aes.xml", message_mode="safe")
    assert events == [EXPECTED["message__text_aes.xml"]]


def test_plaintext_mode_without_a_key_refuses_an_encrypted_callback() -> None:
    cfg = testkit.config(message_mode="plaintext")
    cfg = dataclasses.replace(cfg, credentials={**cfg.credentials, "encoding_aes_key": ""})
    req = testkit.signed_request((testkit.FIXTURES / "message__text_aes.xml").read_bytes(), testkit.config())
    with pytest.raises(SignatureInvalid, match="EncodingAESKey"):
        ADAPTER.verify(req, cfg)


def test_an_envelope_sealed_for_another_appid_is_refused() -> None:
    cfg = testkit.config(message_mode="safe")
    inner = (testkit.FIXTURES / "message__text.xml").read_bytes()
    sealed = crypto.encrypt(inner, crypto.aes_key(testkit.ENCODING_AES_KEY), "wx0000000000000000")
    body = f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
    req = testkit.signed_request(body.encode(), cfg)  # correctly signed, wrong AppID inside
    with pytest.raises(SignatureInvalid, match="another AppID"):
        ADAPTER.verify(req, cfg)


def test_a_missing_msg_signature_is_refused() -> None:
    cfg = testkit.config()
    req = testkit.signed_request((testkit.FIXTURES / "message__text_aes.xml").read_bytes(), cfg)
    query = {k: v for k, v in req.query.items() if k != "msg_signature"}
    with pytest.raises(SignatureInvalid, match="msg_signature"):
        ADAPTER.verify(dataclasses.replace(req, query=query), cfg)


def test_a_stale_timestamp_is_refused_as_a_replay() -> None:
    cfg = testkit.config()
    old = str(int(time.time()) - 3600)
    req = testkit.signed_request((testkit.FIXTURES / "message__text.xml").read_bytes(), cfg, timestamp=old)
    with pytest.raises(SignatureInvalid, match="clock skew"):
        ADAPTER.verify(req, cfg)


def test_the_replay_window_can_be_turned_off() -> None:
    cfg = testkit.config(max_clock_skew_seconds=0)
    req = testkit.signed_request((testkit.FIXTURES / "message__text.xml").read_bytes(), cfg,
                                 timestamp="1764000000")
    ADAPTER.verify(req, cfg)


@pytest.mark.parametrize("name", ["message__text.xml", "message__text_aes.xml"])
def test_a_request_without_any_signature_is_refused(name: str) -> None:
    cfg = testkit.config()
    req = testkit.signed_request((testkit.FIXTURES / name).read_bytes(), cfg, name)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(testkit.strip_signature(req), cfg)


def test_a_signature_made_with_another_token_is_refused() -> None:
    cfg = testkit.config()
    other = dataclasses.replace(cfg, credentials={**cfg.credentials, "token": "not-the-token"})
    req = testkit.signed_request((testkit.FIXTURES / "message__text.xml").read_bytes(), other)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(req, cfg)


# -- malformed payloads -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("xml", "field"),
    [
        (b"this is not xml", "body"),
        (b"<root><MsgType>text</MsgType></root>", "body"),
        (b"<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime></xml>", "MsgType"),
        (b"<xml><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>", "FromUserName"),
        (b"<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>hi</Content></xml>", "MsgId"),
        (b"<xml><FromUserName>o1</FromUserName><CreateTime>soon</CreateTime><MsgType>text</MsgType>"
         b"<MsgId>1</MsgId></xml>", "CreateTime"),
        (b"<xml><FromUserName>o1</FromUserName><MsgType>location</MsgType><Location_X>north</Location_X>"
         b"<Location_Y>1</Location_Y><MsgId>1</MsgId></xml>", "Location_X"),
        (b"<xml><FromUserName>o1</FromUserName><MsgType>event</MsgType></xml>", "Event"),
        (b"<xml><FromUserName>o1</FromUserName><MsgType>event</MsgType>"
         b"<Event>TEMPLATESENDJOBFINISH</Event></xml>", "MsgID"),
    ],
)
def test_malformed_xml_names_the_field(xml: bytes, field: str) -> None:
    cfg = testkit.config()
    req = testkit.signed_request(xml, cfg) if field != "body" else dataclasses.replace(
        testkit.signed_request(b"<xml></xml>", cfg), body=xml)
    with pytest.raises(ValidationFailed) as caught:
        ADAPTER.parse(req, cfg)
    assert caught.value.field == field


def test_entity_expansion_is_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<xml><FromUserName>&b;</FromUserName><MsgType>text</MsgType><MsgId>1</MsgId></xml>")
    cfg = testkit.config()
    req = dataclasses.replace(testkit.signed_request(b"<xml></xml>", cfg), body=bomb)
    with pytest.raises(ValidationFailed):
        ADAPTER.parse(req, cfg)


def test_an_unknown_message_type_is_acknowledged_not_an_error() -> None:
    xml = (b"<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>hologram</MsgType>"
           b"<MsgId>9</MsgId></xml>")
    cfg = testkit.config()
    assert ADAPTER.parse(testkit.signed_request(xml, cfg), cfg) == [IgnoredEvent("msgtype:hologram")]
