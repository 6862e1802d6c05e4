"""QQ official bot API v2 in webhook mode: Ed25519 callbacks, passive replies.

Inbound   POST /webhooks/qq/<channel>   JSON envelope, headers X-Signature-Ed25519 (hex) and
          X-Signature-Timestamp; op 13 (URL validation) is answered with a signed plain_token,
          op 0 events with ``{"op": 12}`` (HTTP Callback ACK).
Outbound  POST <api_base>/v2/users/{openid}/messages | /v2/groups/{group_openid}/messages
          Authorization: QQBot <token from bots.qq.com/app/getAppAccessToken>

Windows: a one-to-one reply is accepted for 60 min after the user's message, a group reply
for 5 min (the hub's window is the 60-minute one, rule ``qq_c2c_60m``; the adapter enforces the
group limit when it knows the message's age). Proactive messages ended on 2025-04-21.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx
from pydantic import BaseModel, Field

from crocevia.channels.base import (
    Capabilities,
    ChannelAdapter,
    ChannelConfig,
    InboundEvent,
    OutboundMessage,
    SendResult,
    WebhookReply,
    WebhookRequest,
)
from crocevia.channels.qq import signing
from crocevia.channels.qq.api import QQAPI
from crocevia.channels.qq.payloads import OP_VALIDATION, envelope, events_from_payload
from crocevia.channels.qq.send import QQSender
from crocevia.clock import utcnow
from crocevia.errors import SignatureInvalid, ValidationFailed
from crocevia.security import constant_time_equals

SIGNATURE_HEADER = "X-Signature-Ed25519"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
APPID_HEADER = "X-Bot-Appid"
DEFAULT_MAX_SKEW_SECONDS = 300
# Validation answers sign whatever QQ sends; keep them to the shapes QQ uses (digits and a short
# token) so that no answer can double as the signature of an event body, which starts with "{".
_EVENT_TS = re.compile(r"[0-9]{1,20}")
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,128}")


class QQCredentials(BaseModel):
    """What the q.qq.com console shows under 开发设置 (development settings)."""

    app_id: str = Field(min_length=1, max_length=32, description="AppID (机器人ID)")
    app_secret: str = Field(min_length=1, max_length=128, description="AppSecret (机器人密钥)")


def credentials(cfg: ChannelConfig) -> QQCredentials:
    try:
        return QQCredentials.model_validate(dict(cfg.credentials))
    except ValueError as exc:
        raise ValidationFailed(f"QQ channel credentials are incomplete: {exc}", field="credentials") from exc


class QQAdapter(ChannelAdapter):
    kind = "qq"
    display_name = "QQ Bot"
    capabilities = Capabilities(
        media=True,
        buttons=0,  # keyboards need markdown plus an invitation-only permission: numbered text instead
        lists=False,
        templates=False,
        location=False,  # not exposed for one-to-one or group chats
        groups=True,
        reactions=False,
        edits=False,
        # No limit is published for C2C/group text; 2000 characters is a conservative cap.
        max_text_length=2000,
        reply_window=timedelta(minutes=60),
        reply_window_rule="qq_c2c_60m",
        # No overall figure is published; 22009 "msg limit exceed" is the signal to slow down.
        rate_per_second=20.0,
        # Each inbound message takes at most 5 replies.
        rate_per_chat_per_second=None,
    )
    credentials_model = QQCredentials
    default_api_base = "https://api.sgroup.qq.com"

    # -- inbound ------------------------------------------------------------------------------
    def handshake(self, req: WebhookRequest, cfg: ChannelConfig) -> WebhookReply | None:
        if req.method.upper() != "POST":
            return None
        try:
            payload = envelope(req.body)
        except ValidationFailed:
            return None
        if payload["op"] != OP_VALIDATION:
            return None
        creds = credentials(cfg)
        # The docs show no signature headers on the validation call; when they are present they
        # must be right, and the AppID header, when present, must be ours.
        if req.header(SIGNATURE_HEADER) or req.header(TIMESTAMP_HEADER):
            self.verify(req, cfg)
        app_id = req.header(APPID_HEADER)
        if app_id is not None and not constant_time_equals(app_id, creds.app_id):
            raise SignatureInvalid(f"{APPID_HEADER} names another bot")
        data = payload.get("d")
        if not isinstance(data, dict):
            raise ValidationFailed("validation payload has no d object", field="d")
        event_ts = str(data.get("event_ts", ""))
        plain_token = str(data.get("plain_token", ""))
        if not _EVENT_TS.fullmatch(event_ts):
            raise ValidationFailed("event_ts must be unix seconds", field="d.event_ts")
        if not _PLAIN_TOKEN.fullmatch(plain_token):
            raise ValidationFailed("plain_token has an unexpected shape", field="d.plain_token")
        answer = signing.validation_answer(creds.app_secret, event_ts, plain_token)
        return WebhookReply(status=200, body=json.dumps(answer).encode(), content_type="application/json")

    def verify(self, req: WebhookRequest, cfg: ChannelConfig) -> None:
        creds = credentials(cfg)
        signature = req.header(SIGNATURE_HEADER)
        timestamp = req.header(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise SignatureInvalid(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
        if not signing.verify(creds.app_secret, timestamp, req.body, signature):
            raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the timestamp and body")
        _check_fresh(timestamp, cfg)

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        return events_from_payload(envelope(req.body))

    def ack(self, req: WebhookRequest, cfg: ChannelConfig, events: list[InboundEvent]) -> WebhookReply:
        # op 12 "HTTP Callback ACK", the reply code the docs define for webhook mode; QQ expects
        # it within 3 s.
        return WebhookReply(status=200, body=b'{"op":12}', content_type="application/json")

    # -- outbound -----------------------------------------------------------------------------
    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        return QQSender(self._api(cfg, http), cfg.settings).send(msg)

    def answer_interaction(self, interaction_id: str, cfg: ChannelConfig, http: httpx.Client,
                           code: int = 0) -> None:
        """``PUT /interactions/{id}`` (msg-btn.md): stops the button's spinner in the QQ client.

        ``interaction_id`` is the button-reply's external id without its ``event:`` prefix.
        """
        self._api(cfg, http).call("PUT", f"/interactions/{interaction_id}", json={"code": code},
                                  what="QQ interaction answer")

    def acknowledge_button(self, external_message_id: str, content: Mapping[str, Any], cfg: ChannelConfig,
                           http: httpx.Client) -> bool:
        if not external_message_id.startswith("event:"):
            return False
        self.answer_interaction(external_message_id.removeprefix("event:"), cfg, http)
        return True

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        creds = credentials(cfg)
        self._api(cfg, http).access_token()
        return f"connected to QQ bot {creds.app_id} (access token obtained)"

    def _api(self, cfg: ChannelConfig, http: httpx.Client) -> QQAPI:
        creds = credentials(cfg)
        return QQAPI(self.api_base(cfg), creds.app_id, creds.app_secret, http)


def _check_fresh(timestamp: str, cfg: ChannelConfig) -> None:
    """The timestamp is signed but QQ publishes no window: allow
    ``settings.max_clock_skew_seconds`` (default 300; 0 turns the check off)."""
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} is not unix seconds") from exc
    window = int(cfg.settings.get("max_clock_skew_seconds", DEFAULT_MAX_SKEW_SECONDS))
    if window and abs(utcnow().timestamp() - sent) > window:
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} is outside the allowed clock skew (replayed callback?)")
