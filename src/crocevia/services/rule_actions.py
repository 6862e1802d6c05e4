"""Two automation-rule actions that reach outside Crocevia: send a message template to the customer, and
call the business's own URL (a signed webhook).

``send_template`` goes through ``messages.enqueue_in`` like any other send (reply window, channel
capabilities, opt-out, DLP, outbox, idempotency key), plus the consent a campaign needs: nothing to a
contact who opted out on the channel, and a marketing template only to one who opted in. On a channel
with platform templates (WhatsApp) a template registered there (``provider_name``) must be approved.

``webhook`` writes a delivery row for one of the workspace's outgoing-webhook subscriptions, in the
rule's transaction: the webhook sender posts it signed (``X-Crocevia-Signature``, HMAC-SHA256 with
the subscription's secret) and retries it with backoff, exactly like the hub's own events, and the
deliveries list shows how it went.

Each returns what happened as a small dict: the rule's audit row stores it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.channels.registry import get_adapter
from crocevia.domain.enums import AuthorType, ConsentStatus
from crocevia.errors import CroceviaError
from crocevia.events.bus import Event
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import (
    Channel,
    Contact,
    ContactConsent,
    Conversation,
    Message,
    MessageTemplate,
    WebhookDelivery,
    WebhookSubscription,
)

RULE_WEBHOOK_EVENT = "rule.webhook"


class SendTemplate(BaseModel):
    """Send an approved message template to the conversation's contact, on the conversation's channel."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["send_template"]
    template_id: int = Field(ge=1)


class CallWebhook(BaseModel):
    """POST the event, signed, to one of the workspace's outgoing-webhook subscriptions."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook"]
    webhook_id: int = Field(ge=1)


def check_in(s: Session, actor: Actor, action: SendTemplate | CallWebhook, where: str) -> None:
    """The template or subscription exists in this workspace (another workspace's id is "not found")."""
    if isinstance(action, SendTemplate):
        get_in_workspace(s, MessageTemplate, action.template_id, actor, "template not found",
                         field=f"{where}.template_id")
    else:
        get_in_workspace(s, WebhookSubscription, action.webhook_id, actor, "webhook subscription not found",
                         field=f"{where}.webhook_id")


def send_template_in(s: Session, rt: Runtime, conv: Conversation | None, template_id: int, *,
                     key: str) -> dict[str, Any]:
    """Send (or refuse, saying why) in the caller's transaction; ``key`` makes a repeat a no-op."""
    from crocevia.services.messages import SendRequest, enqueue_in
    from crocevia.services.templates import render

    if conv is None:
        return {"sent": False, "reason": "no conversation to send in"}
    prior = s.scalar(select(Message.id).where(Message.workspace_id == conv.workspace_id,
                                              Message.idempotency_key == key))
    if prior is not None:
        return {"sent": True, "message_id": prior, "repeat": True}
    tpl = s.get(MessageTemplate, template_id)
    channel = s.get(Channel, conv.channel_id)
    if tpl is None or tpl.workspace_id != conv.workspace_id or channel is None:
        return {"sent": False, "reason": "the template was deleted"}
    consent = s.scalar(select(ContactConsent.status).where(ContactConsent.contact_id == conv.contact_id,
                                                           ContactConsent.channel_id == channel.id))
    if consent == ConsentStatus.OPTED_OUT.value:
        return {"sent": False, "reason": "the customer opted out on this channel", "rule": "opted_out"}
    if tpl.category == "marketing" and consent != ConsentStatus.OPTED_IN.value:
        return {"sent": False, "reason": "a marketing template needs the customer's opt-in on this channel",
                "rule": "no_consent"}
    out = render(s, tpl, s.get(Contact, conv.contact_id))
    caps = get_adapter(channel.kind).capabilities
    template = None
    if caps.templates and tpl.provider_name:
        if tpl.approval_status != "approved":
            return {"sent": False, "reason": f"template {tpl.name!r} is {tpl.approval_status}, not approved",
                    "rule": "template_not_approved"}
        template = {"name": tpl.provider_name, "language": out["language"], "parameters": out["parameters"],
                    "category": tpl.category}
    buttons = out["buttons"] if caps.buttons >= len(out["buttons"]) else []
    req = SendRequest(text=out["text"], buttons=buttons, template=template, idempotency_key=key,
                      author_type=AuthorType.BOT)
    try:
        # A savepoint: a refused send (window closed, DLP block) leaves nothing behind, the rule goes on.
        with s.begin_nested():
            msg = enqueue_in(s, rt, conv, req, author_user_id=None)
    except CroceviaError as exc:
        return {"sent": False, "reason": exc.detail, "rule": str(exc.extra.get("rule") or "")}
    return {"sent": True, "message_id": msg.id, "via": "template" if template else "text"}


def call_webhook_in(s: Session, workspace_id: int, webhook_id: int, data: dict[str, Any], *,
                    channel_id: int | None) -> dict[str, Any]:
    """Queue one signed delivery to the subscription (sent and retried by ``jobs.webhook_sender``)."""
    sub = s.get(WebhookSubscription, webhook_id)
    if sub is None or sub.workspace_id != workspace_id:
        return {"queued": False, "reason": "the webhook subscription was deleted"}
    if not sub.is_active:
        return {"queued": False, "reason": "the webhook subscription is disabled"}
    event = Event(type=RULE_WEBHOOK_EVENT, workspace_id=workspace_id, data=data, channel_id=channel_id)
    delivery = WebhookDelivery(workspace_id=workspace_id, subscription_id=sub.id, event_id=event.id,
                               event_type=event.type, payload=event.to_dict())
    s.add(delivery)
    s.flush()
    return {"queued": True, "delivery_id": delivery.id, "event_id": event.id}
