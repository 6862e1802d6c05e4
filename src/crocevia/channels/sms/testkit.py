"""What the shared channel contract test needs from this channel: a config and a signer.

``signed_request`` builds the request exactly as Twilio sends it: a form body, the
X-Twilio-Signature computed over the webhook URL and the sorted POST parameters, and the
headers Twilio adds to every webhook.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import parse_qsl

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.sms.signature import SIGNATURE_HEADER, compute_signature

FIXTURES = Path(__file__).parent / "fixtures"

ACCOUNT_SID = "AC5f1c8ab09e2d4a6b8c3e7f9d0a1b2c3d"
AUTH_TOKEN = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"


def config(api_base: str = "") -> ChannelConfig:
    return ChannelConfig(
        channel_id=1,
        public_id="ch_test_sms",
        kind="sms",
        credentials={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": "+14155550199"},
        settings={},
        webhook_url="https://hub.example.com/webhooks/sms/ch_test_sms",
        api_base=api_base,
    )


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "") -> WebhookRequest:
    params = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    signature = compute_signature(str(cfg.credentials["auth_token"]), cfg.webhook_url, params)
    return WebhookRequest(
        method="POST",
        url=cfg.webhook_url,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "user-agent": "TwilioProxy/1.1",
            "i-twilio-idempotency-token": str(uuid.uuid5(uuid.NAMESPACE_URL, body.hex())),
            SIGNATURE_HEADER.lower(): signature,
        },
        query={},
        body=body,
    )
