"""What the shared channel contract test needs: a config, and frames as the widget sends them.

The widget's wire format is a JSON frame POSTed to ``/webchat/<channel>/messages`` with the
visitor token as ``Authorization: Bearer <token>``. What is authenticated is the token (the
visitor's own browser writes the body), so ``tamper`` changes one character of the token's
signature rather than of the body.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.webchat.adapter import widget_url
from crocevia.channels.webchat.tokens import VisitorClaims, issue_token

FIXTURES = Path(__file__).parent / "fixtures"
PUBLIC_ID = "ch_test_webchat"
VISITOR_ID = "v_test_visitor_0001"
SITE_ORIGIN = "https://www.trattoria-crocevia.example"


def config(api_base: str = "") -> ChannelConfig:
    return ChannelConfig(
        channel_id=1,
        public_id=PUBLIC_ID,
        kind="webchat",
        credentials={"widget_secret": "widget-secret-0123456789abcdef",
                     "identity_secret": "identity-secret-0123456789abcdef"},
        settings={"allowed_origins": [SITE_ORIGIN]},
        webhook_url=f"http://127.0.0.1:8000/webhooks/webchat/{PUBLIC_ID}",
        api_base=api_base,
    )


def token(cfg: ChannelConfig, visitor_id: str = VISITOR_ID, name: str | None = "Giulia") -> str:
    return issue_token(cfg, VisitorClaims(cfg.public_id, visitor_id, name=name))


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "",
                   visitor_id: str = VISITOR_ID) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url=widget_url(cfg, "messages"),
        headers={"content-type": "application/json", "origin": SITE_ORIGIN,
                 "authorization": f"Bearer {token(cfg, visitor_id)}"},
        query={},
        body=body,
    )


def tamper(req: WebhookRequest) -> WebhookRequest:
    """Flip one character of the token's signature (its last segment)."""
    auth = req.headers["authorization"]
    i = len(auth) - 5
    flipped = auth[:i] + ("A" if auth[i] != "A" else "B") + auth[i + 1:]
    return dataclasses.replace(req, headers={**req.headers, "authorization": flipped})
