"""What the shared channel contract test needs from this channel: a config and a signer."""

from __future__ import annotations

from pathlib import Path

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.meta.testkit_common import meta_signed_request

FIXTURES = Path(__file__).parent / "fixtures"

PAGE_ID = "104857394857362"


def config(api_base: str = "") -> ChannelConfig:
    return ChannelConfig(
        channel_id=2,
        public_id="ch_test_messenger",
        kind="messenger",
        credentials={
            "page_id": PAGE_ID,
            "page_access_token": "EAAtest-messenger-page-access-token",
            "app_secret": "fb-app-secret-0123456789abcdef",
            "verify_token": "fb-verify-token-123",
        },
        settings={},
        webhook_url="http://127.0.0.1:8000/webhooks/messenger/ch_test_messenger",
        api_base=api_base,
    )


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "") -> WebhookRequest:
    return meta_signed_request(body, cfg)
