"""What the shared channel contract test needs from this channel: a config and a signer."""

from __future__ import annotations

from pathlib import Path

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.sandbox.adapter import SIGNATURE_HEADER, sign

FIXTURES = Path(__file__).parent / "fixtures"


def config(api_base: str = "") -> ChannelConfig:
    return ChannelConfig(
        channel_id=1,
        public_id="ch_test_sandbox",
        kind="sandbox",
        credentials={"account_id": "acct-1", "api_key": "key-12345678", "webhook_secret": "whsec-12345678"},
        settings={},
        webhook_url="http://127.0.0.1:8000/webhooks/sandbox/ch_test_sandbox",
        api_base=api_base,
    )


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "") -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url=cfg.webhook_url,
        headers={"content-type": "application/json",
                 SIGNATURE_HEADER.lower(): sign(str(cfg.credentials["webhook_secret"]), body)},
        query={},
        body=body,
    )
