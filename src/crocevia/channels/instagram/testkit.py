"""What the shared channel contract test needs from this channel: a config and a signer."""

from __future__ import annotations

from pathlib import Path

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.meta.testkit_common import meta_signed_request

FIXTURES = Path(__file__).parent / "fixtures"

INSTAGRAM_ACCOUNT_ID = "17841400123456789"


def config(api_base: str = "", login: str = "instagram") -> ChannelConfig:
    return ChannelConfig(
        channel_id=3,
        public_id="ch_test_instagram",
        kind="instagram",
        credentials={
            "instagram_account_id": INSTAGRAM_ACCOUNT_ID,
            "access_token": "IGAAtest-instagram-user-access-token",
            "app_secret": "ig-app-secret-0123456789abcdef",
            "verify_token": "ig-verify-token-123",
            "login": login,
        },
        settings={},
        webhook_url="http://127.0.0.1:8000/webhooks/instagram/ch_test_instagram",
        api_base=api_base,
    )


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "") -> WebhookRequest:
    return meta_signed_request(body, cfg)
