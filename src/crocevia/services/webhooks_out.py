"""Outgoing webhooks: a business's CRM subscribes to hub events, deliveries are signed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlparse

from sqlalchemy import select

from crocevia.errors import NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit
from crocevia.services.actor import Actor
from crocevia.storage.tables import WebhookDelivery, WebhookSubscription

SIGNATURE_HEADER = "X-Crocevia-Signature"
KNOWN_EVENTS = {
    "*", "message.created", "message.status", "message.updated", "conversation.created", "conversation.updated",
    "conversation.resolved", "contact.created", "contact.updated", "contact.merged", "contact.consent_changed",
    "note.created", "dlp.alert",
    # Sent only when an automation rule's "webhook" action names the subscription (services/rule_actions.py).
    "rule.webhook",
}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Stripe-style: HMAC-SHA256 over "<timestamp>.<body>", so a captured delivery cannot be replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def create_subscription(
    rt: Runtime, actor: Actor, *, url: str, events: list[str], secret: str | None
) -> tuple[WebhookSubscription, str]:
    actor.require_admin()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationFailed("url must be an http(s) URL", field="url")
    unknown = sorted(set(events) - KNOWN_EVENTS)
    if unknown:
        raise ValidationFailed(f"unknown event types: {', '.join(unknown)}", field="events")
    secret = secret or "whsec_" + secrets.token_urlsafe(24)
    with rt.db.transaction() as s:
        sub = WebhookSubscription(workspace_id=actor.workspace_id, url=url, events=sorted(set(events)) or ["*"],
                                  secret_encrypted=rt.box.encrypt_text(secret))
        s.add(sub)
        s.flush()
        audit(s, actor, "webhook.create", f"webhook:{sub.id}", url=url)
        return sub, secret


def list_subscriptions(rt: Runtime, actor: Actor) -> list[WebhookSubscription]:
    actor.require_admin()
    with rt.db.read() as s:
        return list(s.scalars(select(WebhookSubscription).where(
            WebhookSubscription.workspace_id == actor.workspace_id).order_by(WebhookSubscription.id)))


def delete_subscription(rt: Runtime, actor: Actor, sub_id: int) -> None:
    actor.require_admin()
    with rt.db.transaction() as s:
        sub = s.get(WebhookSubscription, sub_id)
        if sub is None or sub.workspace_id != actor.workspace_id:
            raise NotFound("webhook subscription not found")
        s.delete(sub)
        audit(s, actor, "webhook.delete", f"webhook:{sub_id}")


def list_deliveries(rt: Runtime, actor: Actor, sub_id: int, limit: int = 50) -> list[WebhookDelivery]:
    actor.require_admin()
    with rt.db.read() as s:
        sub = s.get(WebhookSubscription, sub_id)
        if sub is None or sub.workspace_id != actor.workspace_id:
            raise NotFound("webhook subscription not found")
        return list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id)
                              .order_by(WebhookDelivery.id.desc()).limit(limit)))
