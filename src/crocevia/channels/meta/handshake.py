"""The Meta webhook set-up challenge (the same for WhatsApp, Messenger and Instagram).

When the callback URL is saved in the App Dashboard, Meta sends
``GET ?hub.mode=subscribe&hub.verify_token=<the token you typed>&hub.challenge=<random>``;
the endpoint must answer 200 with the bare challenge, or 403 when the token is wrong.
"""

from __future__ import annotations

from crocevia.channels.base import WebhookReply, WebhookRequest
from crocevia.security import constant_time_equals


def answer_challenge(req: WebhookRequest, verify_token: str) -> WebhookReply | None:
    """The reply to a set-up challenge, or None when ``req`` is not one (a POST of events)."""
    if req.method.upper() != "GET" or "hub.mode" not in req.query:
        return None
    if req.query.get("hub.mode") != "subscribe":
        return WebhookReply(400, b"hub.mode must be subscribe")
    challenge = req.query.get("hub.challenge", "")
    if not challenge:
        return WebhookReply(400, b"missing hub.challenge")
    given = req.query.get("hub.verify_token", "")
    if not verify_token or not constant_time_equals(given, verify_token):
        return WebhookReply(403, b"verify token does not match")
    return WebhookReply(200, challenge.encode(), "text/plain")
