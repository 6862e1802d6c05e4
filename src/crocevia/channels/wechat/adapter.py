"""WeChat Official Account (公众号): callback verification, XML parsing, customer-service sends.

Inbound   GET  /webhooks/wechat/<channel>?signature&timestamp&nonce&echostr    -> echo echostr
          POST /webhooks/wechat/<channel>?signature&timestamp&nonce&openid
               [&encrypt_type=aes&msg_signature]                             XML body -> "success"
Outbound  POST <api_base>/cgi-bin/message/custom/send?access_token=...      (customer-service msgs)
          POST <api_base>/cgi-bin/message/template/send?access_token=...    (template msgs)
          POST <api_base>/cgi-bin/media/upload?access_token=...&type=...     (media by URL)
          GET  <api_base>/cgi-bin/media/get?access_token=...&media_id=...    (inbound media)

The plaintext signature covers only token, timestamp and nonce, never the body; in safe or
compatible mode the body is sealed with AES and authenticated by ``msg_signature``. A channel in
safe mode therefore refuses unencrypted callbacks, which would otherwise let anyone holding
one old signed URL post a forged body.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

import httpx
from pydantic import BaseModel, Field, field_validator, model_validator

from crocevia.channels.base import (
    Capabilities,
    ChannelAdapter,
    ChannelConfig,
    InboundEvent,
    MediaRef,
    OutboundMessage,
    SendResult,
    WebhookReply,
    WebhookRequest,
)
from crocevia.channels.wechat import crypto
from crocevia.channels.wechat.api import WeChatAPI
from crocevia.channels.wechat.payloads import event_from_xml, parse_xml
from crocevia.channels.wechat.send import WeChatSender
from crocevia.clock import utcnow
from crocevia.errors import SignatureInvalid, ValidationFailed
from crocevia.security import constant_time_equals

DEFAULT_MAX_SKEW_SECONDS = 300


class WeChatCredentials(BaseModel):
    """What the MP console (mp.weixin.qq.com > Settings and Development > Basic Configuration) shows."""

    app_id: str = Field(min_length=1, max_length=64, description="AppID (开发者ID)")
    app_secret: str = Field(min_length=1, max_length=128, description="AppSecret (开发者密码)")
    token: str = Field(min_length=3, max_length=32, description="Token (令牌) of the server configuration")
    encoding_aes_key: str = Field(default="", description="EncodingAESKey (消息加解密密钥), 43 characters")
    message_mode: Literal["plaintext", "compatible", "safe"] = Field(
        default="plaintext", description="消息加解密方式: 明文 / 兼容 / 安全"
    )

    @field_validator("encoding_aes_key")
    @classmethod
    def _key_shape(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9]{43}", value):
            raise ValueError("EncodingAESKey is 43 letters and digits")
        if value:
            crypto.aes_key(value)
        return value

    @model_validator(mode="after")
    def _key_needed(self) -> WeChatCredentials:
        if self.message_mode != "plaintext" and not self.encoding_aes_key:
            raise ValueError(f"message_mode {self.message_mode!r} needs the EncodingAESKey")
        return self


def credentials(cfg: ChannelConfig) -> WeChatCredentials:
    try:
        return WeChatCredentials.model_validate(dict(cfg.credentials))
    except ValueError as exc:
        raise ValidationFailed(
            f"WeChat channel credentials are incomplete: {exc}", field="credentials"
        ) from exc


class WeChatAdapter(ChannelAdapter):
    kind = "wechat"
    display_name = "WeChat Official Account"
    capabilities = Capabilities(
        media=True,
        # Customer-service "msgmenu" items; WeChat publishes no maximum (error 45098 exists for
        # "list size out of limit"), so we stay at 3 and fall back to numbered text beyond.
        buttons=3,
        lists=False,
        templates=True,  # template messages (服务号 with an approved template), outside the window too
        location=False,  # the customer-service API cannot send a location
        groups=False,
        reactions=False,
        edits=False,
        # Observed limit 2048 bytes of UTF-8 per text: 682 characters of CJK text fit.
        max_text_length=682,
        reply_window=timedelta(hours=48),
        reply_window_rule="wechat_48h",
        # No per-second figure is published; quotas are daily (errcode 45009) and per interaction.
        rate_per_second=20.0,
    )
    credentials_model = WeChatCredentials
    default_api_base = "https://api.weixin.qq.com"

    # -- inbound ------------------------------------------------------------------------------
    def handshake(self, req: WebhookRequest, cfg: ChannelConfig) -> WebhookReply | None:
        if req.method.upper() != "GET" or "echostr" not in req.query:
            return None
        self.verify(req, cfg)
        # The server-URL check: answer the raw echostr, nothing else.
        return WebhookReply(status=200, body=req.query["echostr"].encode(), content_type="text/plain")

    def verify(self, req: WebhookRequest, cfg: ChannelConfig) -> None:
        creds = credentials(cfg)
        signature = req.query.get("signature", "")
        timestamp = req.query.get("timestamp", "")
        nonce = req.query.get("nonce", "")
        if not (signature and timestamp and nonce):
            raise SignatureInvalid("missing signature, timestamp or nonce query parameter")
        if not constant_time_equals(signature, crypto.sha1_signature(creds.token, timestamp, nonce)):
            raise SignatureInvalid("signature does not match the Token")
        _check_fresh(timestamp, cfg)
        if req.method.upper() == "GET":
            return
        encrypt_type = req.query.get("encrypt_type", "raw").lower()
        if encrypt_type == "aes":
            self._open(req, creds)
        elif encrypt_type != "raw":
            raise SignatureInvalid(f"unsupported encrypt_type {encrypt_type!r}")
        elif creds.message_mode == "safe":
            raise SignatureInvalid("channel is in safe mode: refusing an unencrypted callback")

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        if req.method.upper() == "GET":
            return []
        encrypted = req.query.get("encrypt_type", "raw").lower() == "aes"
        xml = self._open(req, credentials(cfg)) if encrypted else req.body
        return [event_from_xml(parse_xml(xml))]

    def ack(self, req: WebhookRequest, cfg: ChannelConfig, events: list[InboundEvent]) -> WebhookReply:
        # "success" tells WeChat not to retry and not to show "service unavailable"; replies go
        # through the customer-service API. It is sent unencrypted in every mode (as EasyWeChat
        # does): it is not a passive-reply XML message.
        return WebhookReply(status=200, body=b"success", content_type="text/plain")

    def _open(self, req: WebhookRequest, creds: WeChatCredentials) -> bytes:
        """Authenticate and decrypt a safe-mode body; every failure is a refusal."""
        msg_signature = req.query.get("msg_signature", "")
        if not msg_signature:
            raise SignatureInvalid("encrypted callback without msg_signature")
        if not creds.encoding_aes_key:
            raise SignatureInvalid("encrypted callback but no EncodingAESKey is configured")
        try:
            envelope = parse_xml(req.body)
        except ValidationFailed as exc:
            raise SignatureInvalid("encrypted callback body is not the <xml><Encrypt> envelope") from exc
        sealed = envelope.get("Encrypt", "").strip()
        if not sealed:
            raise SignatureInvalid("encrypted callback body has no <Encrypt>")
        expected = crypto.sha1_signature(creds.token, req.query.get("timestamp", ""),
                                         req.query.get("nonce", ""), sealed)
        if not constant_time_equals(msg_signature, expected):
            raise SignatureInvalid("msg_signature does not match the encrypted body")
        try:
            xml, app_id = crypto.decrypt(sealed, crypto.aes_key(creds.encoding_aes_key))
        except ValueError as exc:
            raise SignatureInvalid(f"cannot decrypt the callback: {exc}") from exc
        if not constant_time_equals(app_id, creds.app_id):
            raise SignatureInvalid("callback was encrypted for another AppID")
        return xml

    # -- outbound -----------------------------------------------------------------------------
    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        creds = credentials(cfg)
        api = WeChatAPI(self.api_base(cfg), creds.app_id, creds.app_secret, http)
        return WeChatSender(api, cfg.settings).send(msg)

    def fetch_media(self, ref: MediaRef, cfg: ChannelConfig, http: httpx.Client) -> tuple[bytes, str]:
        if not ref.provider_media_id:
            return super().fetch_media(ref, cfg, http)  # an image's PicUrl
        creds = credentials(cfg)
        api = WeChatAPI(self.api_base(cfg), creds.app_id, creds.app_secret, http)
        resp = api.get_raw("/cgi-bin/media/get", {"media_id": ref.provider_media_id}, what="WeChat media/get")
        if "json" in resp.headers.get("content-type", ""):
            # Videos come back as {"video_url": ...}: one more hop to the bytes.
            video_url = str(resp.json().get("video_url", ""))
            return super().fetch_media(MediaRef(url=video_url, mime_type="video/mp4"), cfg, http)
        return resp.content, resp.headers.get("content-type", ref.mime_type or "application/octet-stream")

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        creds = credentials(cfg)
        WeChatAPI(self.api_base(cfg), creds.app_id, creds.app_secret, http).access_token()
        return f"connected to WeChat Official Account {creds.app_id} (access_token obtained)"


def _check_fresh(timestamp: str, cfg: ChannelConfig) -> None:
    """Refuse stale signed URLs: WeChat signs the timestamp but publishes no window, so we
    allow ``settings.max_clock_skew_seconds`` (default 300; 0 turns the check off)."""
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise SignatureInvalid("timestamp is not unix seconds") from exc
    window = int(cfg.settings.get("max_clock_skew_seconds", DEFAULT_MAX_SKEW_SECONDS))
    if window and abs(utcnow().timestamp() - sent) > window:
        raise SignatureInvalid("timestamp is outside the allowed clock skew (replayed callback?)")

