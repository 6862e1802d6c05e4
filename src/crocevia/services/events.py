"""Emitting an event inside a transaction: queued for the bus, and written for webhooks.

Outgoing-webhook deliveries are rows written in the same transaction as the change, so a
crash after commit still delivers them and a rollback never does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.events.bus import Event
from crocevia.storage.tables import WebhookDelivery, WebhookSubscription


def emit(
    session: Session, event_type: str, workspace_id: int, data: dict[str, Any], *, channel_id: int | None = None
) -> Event:
    event = Event(type=event_type, workspace_id=workspace_id, data=data, channel_id=channel_id)
    session.info.setdefault("events", []).append(event)
    for sub in _subscriptions(session, workspace_id):
        if event_type in sub.events or "*" in sub.events:
            session.add(
                WebhookDelivery(
                    workspace_id=workspace_id,
                    subscription_id=sub.id,
                    event_id=event.id,
                    event_type=event_type,
                    payload=event.to_dict(),
                )
            )
    return event


def _subscriptions(session: Session, workspace_id: int) -> list[WebhookSubscription]:
    # Looked up once per transaction and workspace: ingest emits several events per request.
    cache: dict[int, list[WebhookSubscription]] = session.info.setdefault("webhook_subs", {})
    if workspace_id not in cache:
        cache[workspace_id] = list(
            session.scalars(
                select(WebhookSubscription).where(
                    WebhookSubscription.workspace_id == workspace_id, WebhookSubscription.is_active.is_(True)
                )
            )
        )
    return cache[workspace_id]
