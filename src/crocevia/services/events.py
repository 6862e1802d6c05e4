"""Emitting an event inside a transaction: queued for the bus, and written for webhooks.

Outgoing-webhook deliveries are rows written in the same transaction as the change, so a
crash after commit still delivers them and a rollback never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from crocevia.clock import utcnow
from crocevia.events.bus import Event
from crocevia.storage.fast import FastStatement, connection_of
from crocevia.storage.tables import WebhookDelivery, WebhookSubscription

_WS = cast(Table, WebhookSubscription.__table__)


def emit(
    session: Session, event_type: str, workspace_id: int, data: dict[str, Any], *, channel_id: int | None = None,
    at: str | None = None,
) -> Event:
    """``at``: when it happened, ISO 8601 (default now); a batch stamps all its events with one."""
    event = Event(type=event_type, workspace_id=workspace_id, data=data, channel_id=channel_id,
                  at=at or utcnow().isoformat())
    session.info.setdefault("events", []).append(event)
    _deliveries(session, event)
    return event


def emit_to_webhooks(
    session: Session, event_type: str, workspace_id: int, data: dict[str, Any], *, channel_id: int | None = None
) -> None:
    """Only the outgoing-webhook deliveries of an event, nothing on the live bus: for bulk writes (a
    campaign's messages) whose per-row events no live view could keep up with."""
    _deliveries(session, Event(type=event_type, workspace_id=workspace_id, data=data, channel_id=channel_id))


def wants_webhooks(session: Session, workspace_id: int, event_type: str) -> bool:
    """Whether an active subscription of the workspace takes ``event_type``."""
    return any(event_type in sub.events or "*" in sub.events for sub in _subscriptions(session, workspace_id))


def _deliveries(session: Session, event: Event) -> None:
    event_type, workspace_id = event.type, event.workspace_id
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


@dataclass(frozen=True)
class _Subscription:
    id: int
    events: list[str]


# Every transaction that emits runs this (each ingest batch does): a Core statement on the raw
# cursor rather than an ORM query, since only two columns are needed.
_ACTIVE_SUBSCRIPTIONS = FastStatement(select(_WS.c.id, _WS.c.events).where(
    _WS.c.workspace_id == bindparam("workspace_id"), _WS.c.is_active.is_(True)))


def _subscriptions(session: Session, workspace_id: int) -> list[_Subscription]:
    # Looked up once per transaction and workspace: ingest emits several events per request.
    cache: dict[int, list[_Subscription]] = session.info.setdefault("webhook_subs", {})
    if workspace_id not in cache:
        session.flush()  # a subscription added in this very transaction counts, as with an ORM query
        rows = _ACTIVE_SUBSCRIPTIONS.rows(connection_of(session), {"workspace_id": workspace_id})
        cache[workspace_id] = [_Subscription(int(sub_id), list(events or [])) for sub_id, events in rows]
    return cache[workspace_id]
