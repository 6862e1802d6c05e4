"""What the shared channel contract test needs from this channel: a config, a signer, a tamperer.

Telegram authenticates an update only by the secret-token header, not by the body, so
``tamper`` changes one byte of that header: that is the change the adapter must refuse.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.telegram.adapter import SECRET_HEADER

FIXTURES = Path(__file__).parent / "fixtures"

BOT_TOKEN = "7012345678:AAF3kZx9Qm2Lp8Rt5Vw1Yb4Nc7Hd0Jg6Se_"
WEBHOOK_SECRET = "tg-secret_6f1d9c2b7a4e8f30"


def config(api_base: str = "") -> ChannelConfig:
    return ChannelConfig(
        channel_id=1,
        public_id="ch_test_telegram",
        kind="telegram",
        credentials={"bot_token": BOT_TOKEN, "webhook_secret": WEBHOOK_SECRET},
        settings={},
        webhook_url="https://hub.example.com/webhooks/telegram/ch_test_telegram",
        api_base=api_base,
    )


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "") -> WebhookRequest:
    """An update as Telegram POSTs it to a webhook set with ``secret_token``."""
    return WebhookRequest(
        method="POST",
        url=cfg.webhook_url,
        headers={
            "content-type": "application/json",
            SECRET_HEADER.lower(): str(cfg.credentials["webhook_secret"]),
        },
        query={},
        body=body,
    )


def tamper(req: WebhookRequest) -> WebhookRequest:
    """The same request with one byte of the secret-token header changed."""
    name = SECRET_HEADER.lower()
    secret = req.headers[name]
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    return replace(req, headers={**req.headers, name: flipped})
