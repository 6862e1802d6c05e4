"""What the shared channel contract test needs from QQ: a config and a signer.

``signed_request`` produces the callback QQ makes: the raw JSON body with ``User-Agent:
QQBot-Callback``, ``X-Bot-Appid``, ``X-Signature-Method: Ed25519``, ``X-Signature-Timestamp``
and ``X-Signature-Ed25519`` = hex Ed25519 over timestamp ‖ body. The signature covers the body,
so flipping any body byte breaks it. The secret is the one of the official signing demo.
"""

from __future__ import annotations

import time
from pathlib import Path

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.qq.signing import signature_for

FIXTURES = Path(__file__).parent / "fixtures"

APP_ID = "102000001"
APP_SECRET = "naOC0ocQE3shWLAfffVLB1rhYPG7"  # the secret of the official sign.md demo


def config(api_base: str = "", **settings: object) -> ChannelConfig:
    return ChannelConfig(
        channel_id=1,
        public_id="ch_test_qq",
        kind="qq",
        credentials={"app_id": APP_ID, "app_secret": APP_SECRET},
        settings=dict(settings),
        webhook_url="https://127.0.0.1:8443/webhooks/qq/ch_test_qq",
        api_base=api_base,
    )


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "", *,
                   timestamp: str | None = None) -> WebhookRequest:
    ts = timestamp or str(int(time.time()))
    secret = str(cfg.credentials["app_secret"])
    return WebhookRequest(
        method="POST",
        url=cfg.webhook_url,
        headers={
            "content-type": "application/json",
            "user-agent": "QQBot-Callback",
            "x-bot-appid": str(cfg.credentials["app_id"]),
            "x-signature-method": "Ed25519",
            "x-signature-timestamp": ts,
            "x-signature-ed25519": signature_for(secret, ts, body),
        },
        query={},
        body=body,
    )
