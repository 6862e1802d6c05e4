"""What the shared channel contract test needs from this channel: a config and a signer."""

from __future__ import annotations

from pathlib import Path

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.meta.testkit_common import meta_signed_request

FIXTURES = Path(__file__).parent / "fixtures"

PHONE_NUMBER_ID = "106540352242922"


def config(api_base: str = "") -> ChannelConfig:
    return ChannelConfig(
        channel_id=1,
        public_id="ch_test_whatsapp",
        kind="whatsapp",
        credentials={
            "phone_number_id": PHONE_NUMBER_ID,
            "access_token": "EAAtest-whatsapp-system-user-token",
            "app_secret": "wa-app-secret-0123456789abcdef",
            "verify_token": "wa-verify-token-123",
            "waba_id": "102290129340398",
        },
        settings={},
        webhook_url="http://127.0.0.1:8000/webhooks/whatsapp/ch_test_whatsapp",
        api_base=api_base,
    )


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "") -> WebhookRequest:
    return meta_signed_request(body, cfg)
