"""Cross-checks against wechatpy, the maintained WeChat SDK: its crypto, signer and parser.

Messages sealed by wechatpy's ``WeChatCrypto`` must verify and parse here, and the ones the
testkit and emulator seal must open with wechatpy; one changed byte must be refused.
"""

from __future__ import annotations

import secrets
import time

import pytest

wechatpy = pytest.importorskip("wechatpy")
from wechatpy import parse_message  # noqa: E402
from wechatpy.crypto import WeChatCrypto  # noqa: E402
from wechatpy.exceptions import InvalidSignatureException  # noqa: E402
from wechatpy.utils import check_signature  # noqa: E402

from crocevia.channels.base import InboundMessage, WebhookRequest  # noqa: E402
from crocevia.channels.emulator.wechat import callback  # noqa: E402
from crocevia.channels.wechat import crypto, testkit  # noqa: E402
from crocevia.channels.wechat.adapter import WeChatAdapter  # noqa: E402
from crocevia.domain.enums import MessageKind  # noqa: E402
from crocevia.errors import SignatureInvalid  # noqa: E402

ADAPTER = WeChatAdapter()
SDK = WeChatCrypto(testkit.TOKEN, testkit.ENCODING_AES_KEY, testkit.APP_ID)
INNER = (
    "<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>"
    "<FromUserName><![CDATA[oLVPpjqs9BhvzwPj5A-vTYAX3GLc]]></FromUserName>"
    "<CreateTime>1764001000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[用官方 SDK 加密的消息]]></Content><MsgId>5000000000000001</MsgId></xml>"
)


def _sdk_sealed_request() -> WebhookRequest:
    """A safe-mode callback whose envelope and msg_signature wechatpy produced."""
    ts, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    # encrypt_message builds the reply envelope; the <Encrypt> and signature are what WeChat sends.
    sealed_reply = SDK.encrypt_message(INNER, nonce, ts)
    encrypt = sealed_reply.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    msg_signature = sealed_reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    body = f"<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    cfg = testkit.config()
    signature = crypto.sha1_signature(testkit.TOKEN, ts, nonce)
    check_signature(testkit.TOKEN, signature, ts, nonce)  # wechatpy agrees with our plain signature
    query = {"signature": signature, "timestamp": ts, "nonce": nonce, "openid": "oLVPpjqs9BhvzwPj5A-vTYAX3GLc",
             "encrypt_type": "aes", "msg_signature": msg_signature}
    return WebhookRequest("POST", cfg.webhook_url, {"content-type": "text/xml"}, query, body.encode())


def test_a_message_sealed_by_wechatpy_is_accepted_and_parsed() -> None:
    cfg = testkit.config(message_mode="safe")
    req = _sdk_sealed_request()
    ADAPTER.verify(req, cfg)
    [event] = ADAPTER.parse(req, cfg)
    assert isinstance(event, InboundMessage)
    assert (event.kind, event.text, event.external_message_id) == (
        MessageKind.TEXT, "用官方 SDK 加密的消息", "5000000000000001")


def test_the_wechatpy_message_with_one_byte_changed_is_refused() -> None:
    cfg = testkit.config(message_mode="safe")
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(testkit.tamper(_sdk_sealed_request()), cfg)


def test_a_wrong_plain_signature_is_refused_by_both() -> None:
    cfg = testkit.config()
    req = testkit.tamper(testkit.signed_request((testkit.FIXTURES / "message__text.xml").read_bytes(), cfg))
    q = req.query
    with pytest.raises(InvalidSignatureException):
        check_signature(testkit.TOKEN, q["signature"], q["timestamp"], q["nonce"])
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(req, cfg)


@pytest.mark.parametrize("name", ["message__text_aes.xml", "event__click_aes.xml",
                                  "event__template_send_job_finish_aes.xml"])
def test_wechatpy_opens_our_encrypted_fixtures(name: str) -> None:
    cfg = testkit.config()
    req = testkit.signed_request((testkit.FIXTURES / name).read_bytes(), cfg, name)
    inner = SDK.decrypt_message(req.body.decode(), req.query["msg_signature"], req.query["timestamp"],
                                req.query["nonce"])
    [ours] = ADAPTER.parse(req, cfg)
    theirs = parse_message(inner)
    assert theirs.source == "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"
    if isinstance(ours, InboundMessage):
        assert ours.sender_id == theirs.source


def test_wechatpy_opens_what_the_emulator_seals() -> None:
    account = {"account_id": testkit.APP_ID, "token": testkit.TOKEN, "encoding_aes_key": testkit.ENCODING_AES_KEY,
               "message_mode": "safe", "webhook_url": "http://hub.invalid/webhooks/wechat/x"}
    url, body, _ = callback(account, INNER.encode())
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    inner = SDK.decrypt_message(body.decode(), query["msg_signature"], query["timestamp"], query["nonce"])
    assert parse_message(inner).content == "用官方 SDK 加密的消息"


@pytest.mark.parametrize("name", ["message__text.xml", "message__image.xml", "message__voice.xml",
                                  "message__location.xml", "message__link.xml", "event__click.xml"])
def test_wechatpy_reads_our_plain_fixtures_the_same_way(name: str) -> None:
    body = (testkit.FIXTURES / name).read_bytes()
    cfg = testkit.config()
    [ours] = ADAPTER.parse(testkit.signed_request(body, cfg, name), cfg)
    theirs = parse_message(body.decode())
    assert isinstance(ours, InboundMessage)
    assert ours.sender_id == theirs.source
    if theirs.type == "text":
        assert ours.text == theirs.content
    if theirs.type == "image":
        assert ours.media[0].provider_media_id == theirs.media_id
        assert ours.media[0].url == theirs.image
    if theirs.type == "voice":
        assert ours.text == theirs.recognition
    if theirs.type == "location":
        assert ours.content["latitude"] == pytest.approx(float(theirs.location_x))
        assert ours.content["longitude"] == pytest.approx(float(theirs.location_y))
    if theirs.type == "click":
        assert ours.content["id"] == theirs.key


def test_our_envelope_survives_a_round_trip_through_wechatpy() -> None:
    sealed = crypto.encrypt(INNER.encode(), crypto.aes_key(testkit.ENCODING_AES_KEY), testkit.APP_ID)
    ts, nonce = "1764001000", "42"
    sig = crypto.sha1_signature(testkit.TOKEN, ts, nonce, sealed)
    envelope = f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
    assert SDK.decrypt_message(envelope, sig, ts, nonce) == INNER
    req = testkit.signed_request(envelope.encode(), testkit.config())
    ADAPTER.verify(req, testkit.config())
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(testkit.tamper(req), testkit.config())
