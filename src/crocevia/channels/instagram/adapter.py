"""Instagram Messaging adapter, for both ways Meta offers to connect an account.

- ``login: instagram`` (Instagram API with Instagram Login): host graph.instagram.com,
  ``POST /{version}/{instagram_account_id}/messages?access_token=<Instagram user token>``.
- ``login: facebook`` (Messenger API for Instagram, via the linked Facebook Page): host
  graph.facebook.com, ``POST /{version}/me/messages?access_token=<Page token>&appsecret_proof=...``.

Webhooks are the same either way: ``object: instagram``, signed with X-Hub-Signature-256.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

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
    GRAPH_INSTAGRAM,
    appsecret_proof,
    graph_request,
    json_object,
)
from crocevia.channels.meta.messaging_parse import parse_messaging_webhook
from crocevia.channels.meta.messaging_send import build_send_bodies
from crocevia.channels.meta.send_loop import send_all


class InstagramCredentials(BaseModel):
    # The Instagram professional account id that webhooks carry as entry[].id.
    instagram_account_id: str = Field(pattern=r"^\d{5,32}$")
    # Instagram user token (login "instagram") or the linked Page's token (login "facebook").
    access_token: str = Field(min_length=16)
    app_secret: str = Field(min_length=8)
    verify_token: str = Field(min_length=8)
    login: Literal["instagram", "facebook"] = "instagram"


class InstagramAdapter(MetaWebhookAdapter):
    kind = "instagram"
    display_name = "Instagram"
    capabilities = Capabilities(
        buttons=13,  # quick replies, plain text only
        lists=False,
        templates=False,  # outside the window: the HUMAN_AGENT tag (7 days), not templates
        location=False,
        groups=False,
        reactions=True,
        edits=False,  # Meta documents message_edits webhooks for Messenger only
        max_text_length=1000,
        reply_window=timedelta(hours=24),
        reply_window_rule="instagram_24h",
        # Send API: 300 calls/s per Instagram professional account for text and links.
        rate_per_second=300.0,
    )
    credentials_model = InstagramCredentials
    default_api_base = GRAPH_INSTAGRAM

    def api_base(self, cfg: ChannelConfig) -> str:
        explicit = cfg.api_base or str(cfg.settings.get("api_base", ""))
        if explicit:
            return explicit.rstrip("/")
        return GRAPH_FACEBOOK if cfg.credentials.get("login") == "facebook" else GRAPH_INSTAGRAM

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        return parse_messaging_webhook(
            req.body,
            expected_object="instagram",
            account_id=str(cfg.credentials.get("instagram_account_id", "")),
        )

    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        creds = load_credentials(InstagramCredentials, cfg)
        node = "me" if creds.login == "facebook" else creds.instagram_account_id
        return send_all(
            http,
            f"{self._versioned(cfg)}/{node}/messages",
            build_send_bodies(msg, "instagram"),
            params=self._auth(creds),
            idempotency_key=msg.idempotency_key,
            what="Instagram Send API",
        )

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        creds = load_credentials(InstagramCredentials, cfg)
        node = "me" if creds.login == "instagram" else creds.instagram_account_id
        data = json_object(
            graph_request(
                http,
                "GET",
                f"{self._versioned(cfg)}/{node}",
                what="Instagram",
                params={"fields": "username", **self._auth(creds)},
            ),
            "Instagram",
        )
        return f"connected to Instagram account @{data.get('username', '?')} ({creds.instagram_account_id})"

    def _versioned(self, cfg: ChannelConfig) -> str:
        return f"{self.api_base(cfg)}/{cfg.settings.get('api_version') or DEFAULT_API_VERSION}"

    @staticmethod
    def _auth(creds: InstagramCredentials) -> dict[str, str]:
        params = {"access_token": creds.access_token}
        if creds.login == "facebook":
            # Graph (facebook.com) checks appsecret_proof when the app requires it; Instagram
            # Login tokens are not used with it (Chatwoot's Instagram-Login sender omits it).
            params["appsecret_proof"] = appsecret_proof(creds.app_secret, creds.access_token)
        return params
