"""Messenger Platform adapter.

inbound  POST /webhooks/messenger/<channel>   object "page", X-Hub-Signature-256 (App Secret)
outbound POST {api_base}/{version}/{page_id}/messages?access_token=<Page token>&appsecret_proof=...
media    inbound attachments carry a signed CDN URL (no token needed): the base ``fetch_media``.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from pydantic import BaseModel, Field

from crocevia.channels.base import (
    Capabilities,
    ChannelConfig,
    InboundEvent,
    OutboundMessage,
    SendResult,
    WebhookRequest,
)
from crocevia.channels.meta.adapter_base import MetaWebhookAdapter
from crocevia.channels.meta.credentials import load_credentials
from crocevia.channels.meta.graph import (
    DEFAULT_API_VERSION,
    GRAPH_FACEBOOK,
    appsecret_proof,
    graph_request,
    json_object,
)
from crocevia.channels.meta.messaging_parse import parse_messaging_webhook
from crocevia.channels.meta.messaging_send import build_send_bodies
from crocevia.channels.meta.send_loop import send_all


class MessengerCredentials(BaseModel):
    page_id: str = Field(pattern=r"^\d{5,32}$")
    # A Page access token with pages_messaging (from a person with the MESSAGE task on the Page).
    page_access_token: str = Field(min_length=16)
    app_secret: str = Field(min_length=8)
    verify_token: str = Field(min_length=8)


class MessengerAdapter(MetaWebhookAdapter):
    kind = "messenger"
    display_name = "Facebook Messenger"
    capabilities = Capabilities(
        buttons=13,  # quick replies; up to 3 become a button template
        lists=False,
        templates=False,  # outside the window: message tags (content["tag"]), not templates
        location=False,  # the Send API has no location message; sent as a map link
        groups=False,
        reactions=True,
        edits=True,
        max_text_length=2000,
        reply_window=timedelta(hours=24),
        reply_window_rule="messenger_24h",
        # Send API: 300 calls/s per Page for text, links, reactions, stickers (10/s for audio/video).
        rate_per_second=300.0,
    )
    credentials_model = MessengerCredentials
    default_api_base = GRAPH_FACEBOOK

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        return parse_messaging_webhook(
            req.body, expected_object="page", account_id=str(cfg.credentials.get("page_id", ""))
        )

    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        creds = load_credentials(MessengerCredentials, cfg)
        return send_all(
            http,
            f"{self._versioned(cfg)}/{creds.page_id}/messages",
            build_send_bodies(msg, "messenger"),
            params=self._auth(creds),
            idempotency_key=msg.idempotency_key,
            what="Messenger Send API",
        )

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        creds = load_credentials(MessengerCredentials, cfg)
        data = json_object(
            graph_request(
                http,
                "GET",
                f"{self._versioned(cfg)}/{creds.page_id}",
                what="Messenger",
                params={"fields": "name", **self._auth(creds)},
            ),
            "Messenger",
        )
        return f"connected to Facebook Page {data.get('name', '?')} ({creds.page_id})"

    def _versioned(self, cfg: ChannelConfig) -> str:
        return f"{self.api_base(cfg)}/{cfg.settings.get('api_version') or DEFAULT_API_VERSION}"

    @staticmethod
    def _auth(creds: MessengerCredentials) -> dict[str, str]:
        return {
            "access_token": creds.page_access_token,
            "appsecret_proof": appsecret_proof(creds.app_secret, creds.page_access_token),
        }
