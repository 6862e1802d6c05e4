"""Plain-dict views of rows, shared by events, the API and webhooks."""

from __future__ import annotations

from typing import Any

from crocevia.storage.tables import Conversation, Message, Note


def message_dict(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "channel_id": m.channel_id,
        "direction": m.direction,
        "author_type": m.author_type,
        "author_user_id": m.author_user_id,
        "kind": m.kind,
        "text": m.text,
        "content": m.content or {},
        "status": m.status,
        "failure_reason": m.failure_reason,
        "provider_message_id": m.provider_message_id,
        "created_at": m.created_at.isoformat(),
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
        "read_at": m.read_at.isoformat() if m.read_at else None,
    }


def conversation_dict(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "channel_id": c.channel_id,
        "contact_id": c.contact_id,
        "thread_key": c.thread_key,
        "status": c.status,
        "assignee_id": c.assignee_id,
        "team_id": c.team_id,
        "labels": c.labels or [],
        "snoozed_until": c.snoozed_until.isoformat() if c.snoozed_until else None,
        "last_activity_at": c.last_activity_at.isoformat(),
        "last_inbound_at": c.last_inbound_at.isoformat() if c.last_inbound_at else None,
        "last_message_preview": c.last_message_preview,
        "unread_count": c.unread_count,
        "bot_active": c.bot_active,
        "created_at": c.created_at.isoformat(),
    }


def note_dict(n: Note) -> dict[str, Any]:
    return {
        "id": n.id,
        "conversation_id": n.conversation_id,
        "author_user_id": n.author_user_id,
        "text": n.text,
        "mentions": n.mentions or [],
        "created_at": n.created_at.isoformat(),
    }
