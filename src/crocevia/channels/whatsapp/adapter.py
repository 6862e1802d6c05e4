"""WhatsApp Cloud API adapter.

inbound  POST /webhooks/whatsapp/<channel>   X-Hub-Signature-256 (App Secret), GET hub.challenge set-up
outbound POST {api_base}/{version}/{phone_number_id}/messages   Authorization: Bearer <token>
media    GET  {api_base}/{version}/{media_id} → {"url"} → GET url with the same Bearer token
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from pydantic import BaseModel, Field

from crocevia.channels.base import (
    Capabilities,
    ChannelConfig,
    InboundEvent,
    MediaRef,
    OutboundMessage,
    SendResult,
    WebhookRequest,
)
from crocevia.channels.meta.adapter_base import MetaWebhookAdapter
from crocevia.channels.meta.credentials import load_credentials
from crocevia.channels.meta.graph import (
    DEFAULT_API_VERSION,
    GRAPH_FACEBOOK,
    IDEMPOTENCY_HEADER,
    appsecret_proof,
    graph_request,
    json_object,
)
from crocevia.channels.whatsapp.inbound import parse_webhook
from crocevia.channels.whatsapp.outbound import build_bodies
from crocevia.errors import ProviderError


class WhatsAppCredentials(BaseModel):
    # WhatsApp Manager → API Setup: the *Phone number ID*, not the phone number itself.
    phone_number_id: str = Field(pattern=r"^\d{5,32}$")
    # A System User access token with whatsapp_business_messaging (does not expire).
    access_token: str = Field(min_length=16)
    # App Dashboard → App settings → Basic → App Secret; signs every webhook.
    app_secret: str = Field(min_length=8)
    # Any string you choose and type into the webhook set-up form.
    verify_token: str = Field(min_length=8)
    waba_id: str = Field(default="", pattern=r"^\d*$")


class WhatsAppAdapter(MetaWebhookAdapter):
    kind = "whatsapp"
    display_name = "WhatsApp"
    capabilities = Capabilities(
        buttons=3,
        lists=True,
        templates=True,
        location=True,
        groups=True,
        reactions=True,
        edits=True,
        max_text_length=4096,
        reply_window=timedelta(hours=24),
        reply_window_rule="whatsapp_24h",
        # Meta's default throughput per registered number (inbound + outbound), msg/s.
        rate_per_second=80.0,
        # Pair rate: about one message every 6 s to the same user (bursts borrow future quota).
        rate_per_chat_per_second=1 / 6,
    )
    credentials_model = WhatsAppCredentials
    default_api_base = GRAPH_FACEBOOK

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        return parse_webhook(req.body, str(cfg.credentials.get("phone_number_id", "")))

    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        creds = load_credentials(WhatsAppCredentials, cfg)
        url = f"{self._versioned(cfg)}/{creds.phone_number_id}/messages"
        first_id = ""
        for i, body in enumerate(build_bodies(msg)):
            key = msg.idempotency_key if i == 0 else f"{msg.idempotency_key}:{i}"
            resp = graph_request(
                http,
                "POST",
                url,
                what="WhatsApp Cloud API",
                json_body=body,
                params=self._proof(creds),
                headers=self._headers(creds, key),
            )
            data = json_object(resp, "WhatsApp Cloud API")
            try:
                wamid = str(data["messages"][0]["id"])
            except (KeyError, IndexError, TypeError) as exc:
                raise ProviderError(f"WhatsApp answered without a message id: {data}", retryable=False) from exc
            first_id = first_id or wamid
        return SendResult(provider_message_id=first_id)

    def fetch_media(self, ref: MediaRef, cfg: ChannelConfig, http: httpx.Client) -> tuple[bytes, str]:
        """Inbound media carry an id: ask Graph for a short-lived URL (valid 5 minutes), then
        download it with the same Bearer token (the URL alone is not enough)."""
        if not ref.provider_media_id:
            return super().fetch_media(ref, cfg, http)
        creds = load_credentials(WhatsAppCredentials, cfg)
        headers = {"Authorization": f"Bearer {creds.access_token}"}
        info = json_object(
            graph_request(
                http,
                "GET",
                f"{self._versioned(cfg)}/{ref.provider_media_id}",
                what="WhatsApp media lookup",
                params=self._proof(creds),
                headers=headers,
            ),
            "WhatsApp media lookup",
        )
        if not info.get("url"):
            raise ProviderError(f"WhatsApp media {ref.provider_media_id} has no URL", retryable=False)
        resp = graph_request(http, "GET", str(info["url"]), what="WhatsApp media download", headers=headers)
        mime = str(info.get("mime_type") or resp.headers.get("content-type") or ref.mime_type)
        return resp.content, mime or "application/octet-stream"

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        creds = load_credentials(WhatsAppCredentials, cfg)
        data = json_object(
            graph_request(
                http,
                "GET",
                f"{self._versioned(cfg)}/{creds.phone_number_id}",
                what="WhatsApp Cloud API",
                params={"fields": "display_phone_number,verified_name", **self._proof(creds)},
                headers={"Authorization": f"Bearer {creds.access_token}"},
            ),
            "WhatsApp Cloud API",
        )
        number, name = data.get("display_phone_number", "?"), data.get("verified_name", "?")
        return f"connected to WhatsApp number {number} ({name})"

    def _versioned(self, cfg: ChannelConfig) -> str:
        version = str(cfg.settings.get("api_version") or DEFAULT_API_VERSION)
        return f"{self.api_base(cfg)}/{version}"

    @staticmethod
    def _proof(creds: WhatsAppCredentials) -> dict[str, str]:
        return {"appsecret_proof": appsecret_proof(creds.app_secret, creds.access_token)}

    @staticmethod
    def _headers(creds: WhatsAppCredentials, idempotency_key: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {creds.access_token}"}
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        return headers
