"""The webhook half every Meta channel shares: the hub.challenge handshake and X-Hub-Signature-256."""

from __future__ import annotations

from typing import ClassVar

from crocevia.channels.base import ChannelAdapter, ChannelConfig, WebhookReply, WebhookRequest
from crocevia.channels.meta.handshake import answer_challenge
from crocevia.channels.meta.signature import verify_signature
from crocevia.errors import SignatureInvalid


class MetaWebhookAdapter(ChannelAdapter):
    """Subclasses keep ``app_secret`` and ``verify_token`` in their credentials model."""

    # The credential keys read here; every Meta credentials model declares both.
    app_secret_key: ClassVar[str] = "app_secret"
    verify_token_key: ClassVar[str] = "verify_token"

    def handshake(self, req: WebhookRequest, cfg: ChannelConfig) -> WebhookReply | None:
        return answer_challenge(req, str(cfg.credentials.get(self.verify_token_key, "")))

    def verify(self, req: WebhookRequest, cfg: ChannelConfig) -> None:
        secret = str(cfg.credentials.get(self.app_secret_key, ""))
        if not secret:
            # Without a secret nothing can be proven; refuse rather than accept unsigned events.
            raise SignatureInvalid("channel has no app_secret configured")
        verify_signature(req, secret)
