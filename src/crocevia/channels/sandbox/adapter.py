"""The sandbox channel: a provider of our own, so demos and tests send over real HTTP.

Wire format (documented in README.md beside this file):
inbound  POST /webhooks/sandbox/<channel>  {"events": [...]}  X-Sandbox-Signature: sha256=<hex>
outbound POST <api_base>/sandbox/v1/accounts/<account_id>/messages  Idempotency-Key: <key>
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field

from crocevia.channels.base import (
    Capabilities,
    ChannelAdapter,
    ChannelConfig,
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    OutboundMessage,
    SendResult,
    StatusUpdate,
    WebhookRequest,
    raise_for_provider_status,
)
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ProviderError, SignatureInvalid, ValidationFailed
from crocevia.security import constant_time_equals, hmac_sha256_hex

SIGNATURE_HEADER = "X-Sandbox-Signature"


class SandboxCredentials(BaseModel):
    account_id: str = Field(min_length=1, max_length=100)
    api_key: str = Field(min_length=8)
    webhook_secret: str = Field(min_length=8)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac_sha256_hex(secret.encode(), body)


class SandboxAdapter(ChannelAdapter):
    kind = "sandbox"
    display_name = "Sandbox"
    capabilities = Capabilities(
        buttons=3, lists=True, location=True, reactions=True, rate_per_second=50.0
    )
    credentials_model = SandboxCredentials
    default_api_base = "http://127.0.0.1:8025"

    def verify(self, req: WebhookRequest, cfg: ChannelConfig) -> None:
        given = req.header(SIGNATURE_HEADER)
        if not given:
            raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
        expected = sign(str(cfg.credentials["webhook_secret"]), req.body)
        if not constant_time_equals(given, expected):
            raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        try:
            payload = json.loads(req.body)
            raw_events = payload["events"]
            if not isinstance(raw_events, list):
                raise TypeError
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationFailed("body must be JSON with an 'events' list", field="events") from exc
        return [self._parse_event(e) for e in raw_events if isinstance(e, dict)]

    def _parse_event(self, e: dict[str, Any]) -> InboundEvent:
        ts = datetime.fromtimestamp(float(e["timestamp"]), UTC) if e.get("timestamp") else None
        etype = e.get("type")
        if etype == "message":
            media = tuple(
                MediaRef(url=m.get("url", ""), mime_type=m.get("mime_type", ""), caption=m.get("caption", ""))
                for m in e.get("media", [])
            )
            kind = MessageKind.MEDIA if media else MessageKind.TEXT
            content: dict[str, Any] = {}
            if "location" in e:
                kind, content = MessageKind.LOCATION, dict(e["location"])
            if "button" in e:
                kind, content = MessageKind.BUTTON_REPLY, dict(e["button"])
            return InboundMessage(
                external_message_id=str(e["id"]),
                sender_id=str(e["from"]),
                sender_name=e.get("name"),
                sender_phone=e.get("from") if str(e.get("from", "")).startswith("+") else None,
                kind=kind,
                text=str(e.get("text", "")),
                content=content,
                media=media,
                timestamp=ts,
                thread_id=str(e.get("group", "")),
            )
        if etype == "status":
            try:
                status = MessageStatus(e["status"])
            except ValueError:
                return IgnoredEvent(f"status:{e.get('status')}")
            return StatusUpdate(str(e["message_id"]), status, ts, e.get("error"))
        return IgnoredEvent(str(etype))

    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        creds = cfg.credentials
        body: dict[str, Any] = {"to": msg.recipient_id, "text": msg.text}
        if msg.buttons:
            body["buttons"] = [{"id": b.id, "title": b.title} for b in msg.buttons]
        if msg.media_url:
            body["media"] = {"url": msg.media_url, "mime_type": msg.media_mime_type}
        if msg.template:
            body["template"] = msg.template
        if msg.thread_id:
            body["group"] = msg.thread_id
        try:
            resp = http.post(
                f"{self.api_base(cfg)}/sandbox/v1/accounts/{creds['account_id']}/messages",
                json=body,
                headers={"Authorization": f"Bearer {creds['api_key']}", "Idempotency-Key": msg.idempotency_key},
            )
        except httpx.TimeoutException as exc:
            raise ProviderError("sandbox API timed out", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError(f"sandbox API unreachable: {exc}", retryable=True) from exc
        raise_for_provider_status(resp)
        return SendResult(provider_message_id=str(resp.json()["id"]))

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        creds = cfg.credentials
        resp = http.get(
            f"{self.api_base(cfg)}/sandbox/v1/accounts/{creds['account_id']}",
            headers={"Authorization": f"Bearer {creds['api_key']}"},
        )
        raise_for_provider_status(resp)
        return f"connected to sandbox account {creds['account_id']}"
