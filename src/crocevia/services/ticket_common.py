"""What tickets, SLA and customer updates share: the dict view, and recording a ticket event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crocevia.runtime import Runtime
from crocevia.services.events import emit
from crocevia.storage.tables import Conversation, Ticket, TicketEvent


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def ticket_dict(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id, "number": t.number, "subject": t.subject, "description": t.description, "type": t.type,
        "priority": t.priority, "status": t.status, "contact_id": t.contact_id,
        "conversation_id": t.conversation_id, "assignee_id": t.assignee_id, "team_id": t.team_id,
        "custom_fields": t.custom_fields or {}, "created_at": _iso(t.created_at), "updated_at": _iso(t.updated_at),
        "solved_at": _iso(t.solved_at), "closed_at": _iso(t.closed_at), "csat_score": t.csat_score,
        "sla": {
            "policy_id": t.sla_policy_id, "paused": t.sla_paused_at is not None,
            "first_response_due_at": _iso(t.first_response_due_at), "first_responded_at": _iso(t.first_responded_at),
            "first_response_breached_at": _iso(t.first_response_breached_at),
            "resolution_due_at": _iso(t.resolution_due_at), "resolution_breached_at": _iso(t.resolution_breached_at),
        },
    }


def ticket_event_dict(e: TicketEvent) -> dict[str, Any]:
    return {"id": e.id, "ticket_id": e.ticket_id, "kind": e.kind, "actor_user_id": e.actor_user_id,
            "text": e.text, "data": e.data or {}, "created_at": _iso(e.created_at)}


def channel_of(s: Session, t: Ticket) -> int | None:
    if t.conversation_id is None:
        return None
    conv = s.get(Conversation, t.conversation_id)
    return conv.channel_id if conv else None


def record(s: Session, t: Ticket, kind: str, *, now: datetime, actor_user_id: int | None = None, text: str = "",
           data: dict[str, Any] | None = None, event_type: str | None = None, rt: Runtime | None = None,
           ) -> TicketEvent:
    """Write a history row and, when ``event_type`` is given, emit it (live inbox + outgoing webhooks) and
    run the automation rules (``rt`` lets them send messages)."""
    ev = TicketEvent(workspace_id=t.workspace_id, ticket_id=t.id, kind=kind, actor_user_id=actor_user_id,
                     text=text, data=data or {}, created_at=now)
    s.add(ev)
    s.flush()
    if event_type:
        emit(s, event_type, t.workspace_id, {"ticket": ticket_dict(t), "event": ticket_event_dict(ev)},
             channel_id=channel_of(s, t))
        # Automation rules run in this same transaction (imported here: they use sla, which uses us).
        from crocevia.services.ticket_rules import on_ticket_event_in
        on_ticket_event_in(s, rt, t, event_type, ev, now)
    return ev
