"""The web chat adapter: the widget's inbound frame is this channel's wire format.

There is no third-party provider. The widget sends JSON frames to the hub's own endpoints
(``POST /webchat/<channel>/messages`` and ``WS /webchat/<channel>/ws``)::

    {"type": "message", "client_id": "c-1a2b", "text": "Hello"}              a visitor message
    {"type": "message", "client_id": "c-3c4d", "text": "Yes", "button_id": "2"}  a button reply
    {"type": "receipt", "status": "delivered" | "read", "message_ids": [41, 42]}  display receipts

authenticated by the visitor token (``Authorization: Bearer <token>``). ``verify`` checks that
token and ``parse`` turns a frame into events, so the widget endpoints and the shared contract
test go through the same code. The token authenticates the *visitor*, not each body: the
visitor's own browser writes the body, so there is nothing a body signature would add.

Sending needs no HTTP call: the message is already in the hub, and the visitor's WebSocket
picks it up from the event bus once the dispatcher records it as sent.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field

from crocevia.channels.base import (
    Capabilities,
    ChannelAdapter,
    ChannelConfig,
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    OutboundMessage,
    SendResult,
    StatusUpdate,
    WebhookRequest,
)
from crocevia.channels.webchat.tokens import VisitorClaims, read_token
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import SignatureInvalid, ValidationFailed

MAX_TEXT = 4000
MAX_RECEIPT_IDS = 200
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The only paths a frame may arrive on; the generic /webhooks/webchat/... route is not one.
WIDGET_ENDPOINTS = ("messages", "ws")
PROVIDER_ID_PREFIX = "wc-"


class WebchatCredentials(BaseModel):
    widget_secret: str = Field(min_length=16, description="signs visitor tokens; keep it on the hub")
    identity_secret: str | None = Field(
        default=None, min_length=16,
        description="the business's server signs logged-in customers' ids with it (user_hash)")


def widget_url(cfg: ChannelConfig, endpoint: str) -> str:
    """The widget endpoint URL for a channel, derived from its webhook URL (same public origin)."""
    base, _, _ = cfg.webhook_url.rpartition(f"/webhooks/{cfg.kind}/{cfg.public_id}")
    return f"{base}/webchat/{cfg.public_id}/{endpoint}"


def provider_message_id(message_id: int) -> str:
    return f"{PROVIDER_ID_PREFIX}{message_id}"


def external_message_id(visitor_id: str, client_id: str) -> str:
    # Scoped by visitor: two visitors whose widgets pick the same client id stay two messages.
    return f"{visitor_id}/{client_id}"


def client_id_of(visitor_id: str, external_id: str | None) -> str | None:
    """The widget's client id when ``external_id`` is one of this visitor's messages."""
    prefix = f"{visitor_id}/"
    if not external_id or not external_id.startswith(prefix):
        return None
    rest = external_id[len(prefix):]
    return rest if CLIENT_ID.match(rest) else None


def bearer_token(req: WebhookRequest) -> str:
    auth = req.header("authorization") or ""
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class WebchatAdapter(ChannelAdapter):
    kind = "webchat"
    display_name = "Web chat"
    capabilities = Capabilities(
        media=True,
        buttons=10,
        max_text_length=MAX_TEXT,
        reply_window=None,  # the business's own site: no platform rule limits replies
        rate_per_second=200.0,  # no provider to protect; only our own bus and database
    )
    credentials_model = WebchatCredentials

    def visitor(self, req: WebhookRequest, cfg: ChannelConfig) -> VisitorClaims:
        """The verified visitor behind a widget request (SignatureInvalid otherwise)."""
        path = urlsplit(req.url).path
        if not any(path.endswith(f"/webchat/{cfg.public_id}/{e}") for e in WIDGET_ENDPOINTS):
            raise SignatureInvalid("web chat accepts frames only on its widget endpoints, not as a webhook")
        return read_token(bearer_token(req), cfg)

    def verify(self, req: WebhookRequest, cfg: ChannelConfig) -> None:
        self.visitor(req, cfg)

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        claims = self.visitor(req, cfg)
        try:
            frame = json.loads(req.body)
        except ValueError as exc:
            raise ValidationFailed("a frame must be a JSON object", field="body") from exc
        if not isinstance(frame, dict):
            raise ValidationFailed("a frame must be a JSON object", field="body")
        ftype = frame.get("type")
        if ftype == "message":
            return [self._message(frame, claims)]
        if ftype == "receipt":
            return self._receipts(frame)
        return [IgnoredEvent(f"webchat:{str(ftype)[:40]}")]

    def _message(self, frame: dict[str, Any], claims: VisitorClaims) -> InboundMessage:
        client_id = frame.get("client_id")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            raise ValidationFailed("client_id must be 1-64 letters, digits, '-' or '_'", field="client_id")
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValidationFailed("a message needs text", field="text")
        if len(text) > MAX_TEXT:
            raise ValidationFailed(f"text is longer than {MAX_TEXT} characters", field="text")
        kind, content = MessageKind.TEXT, {}
        button_id = frame.get("button_id")
        if button_id is not None:
            if not isinstance(button_id, str | int) or not str(button_id) or len(str(button_id)) > 64:
                raise ValidationFailed("button_id must be a short string", field="button_id")
            kind, content = MessageKind.BUTTON_REPLY, {"id": str(button_id), "title": text}
        return InboundMessage(
            external_message_id=external_message_id(claims.visitor_id, client_id),
            sender_id=claims.visitor_id,
            sender_name=claims.name,
            kind=kind,
            text=text,
            content=content,
        )

    def _receipts(self, frame: dict[str, Any]) -> list[InboundEvent]:
        try:
            status = MessageStatus(str(frame.get("status")))
        except ValueError as exc:
            raise ValidationFailed("status must be 'delivered' or 'read'", field="status") from exc
        if status not in (MessageStatus.DELIVERED, MessageStatus.READ):
            raise ValidationFailed("status must be 'delivered' or 'read'", field="status")
        ids = frame.get("message_ids")
        if (not isinstance(ids, list) or not ids or len(ids) > MAX_RECEIPT_IDS
                or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)):
            raise ValidationFailed(f"message_ids must be 1-{MAX_RECEIPT_IDS} message ids", field="message_ids")
        return [StatusUpdate(provider_message_id(i), status) for i in dict.fromkeys(ids)]

    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        # Nothing to call: "sent" means the hub will push it to the visitor's open widget.
        return SendResult(provider_message_id=provider_message_id(msg.message_id))

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        return "web chat runs inside the hub: nothing to connect to; embed the widget snippet on your site"
