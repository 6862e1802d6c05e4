"""Tickets: opened from a conversation (agent, bot step, automation) or the API; numbered per
workspace; statuses new → open → pending → on hold → solved → closed; internal notes; linked
conversations. Each status change is an event and a short message to the customer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crocevia.dlp.policy import Direction as DlpDirection
from crocevia.errors import Conflict, NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import csat_once, sla, ticket_updates
from crocevia.services.accounts import get_user
from crocevia.services.actor import Actor
from crocevia.services.conversations import get_conversation_in
from crocevia.services.protection import protect
from crocevia.services.protection import record as record_protection
from crocevia.services.ticket_common import channel_of, record
from crocevia.services.ticket_texts import STATUSES
from crocevia.storage.tables import Contact, Conversation, Team, Ticket, TicketConversation, TicketEvent

TYPE_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")
# Statuses a ticket may not leave: closed is final (a new problem is a new ticket).
FINAL = ("closed",)
_NUMBER_RETRIES = 5


def get_ticket_in(s: Session, actor: Actor, ticket_id: int, *, field: str | None = None) -> Ticket:
    t = s.get(Ticket, ticket_id)
    if t is None or t.workspace_id != actor.workspace_id:
        raise NotFound("ticket not found", field=field)
    channel_id = channel_of(s, t)
    if channel_id is not None and not actor.can_see_channel(channel_id):
        raise NotFound("ticket not found", field=field)
    return t


def get_ticket(rt: Runtime, actor: Actor, ticket_id: int) -> Ticket:
    with rt.db.read() as s:
        return get_ticket_in(s, actor, ticket_id)


def _check_fields(s: Session, actor: Actor, fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "subject" in fields:
        subject = str(fields["subject"] or "").strip()
        if not subject or len(subject) > 300:
            raise ValidationFailed("a ticket needs a subject of at most 300 characters", field="subject")
        out["subject"] = subject
    if "description" in fields:
        out["description"] = str(fields["description"] or "")
    if "type" in fields:
        if not TYPE_RE.match(str(fields["type"] or "")):
            raise ValidationFailed("type is a short lowercase word (question, incident, problem, task...)",
                                   field="type")
        out["type"] = fields["type"]
    if "priority" in fields:
        if fields["priority"] not in sla.PRIORITIES:
            raise ValidationFailed(f"priority is one of {', '.join(sla.PRIORITIES)}", field="priority")
        out["priority"] = fields["priority"]
    if "assignee_id" in fields:
        if fields["assignee_id"] is not None:
            get_user(s, actor, int(fields["assignee_id"]), field="assignee_id")
        out["assignee_id"] = fields["assignee_id"]
    if "team_id" in fields:
        if fields["team_id"] is not None:
            team = s.get(Team, fields["team_id"])
            if team is None or team.workspace_id != actor.workspace_id:
                raise NotFound("team not found", field="team_id")
        out["team_id"] = fields["team_id"]
    if "custom_fields" in fields:
        custom = fields["custom_fields"] or {}
        if not isinstance(custom, dict) or any(not isinstance(k, str) or len(k) > 64 for k in custom):
            raise ValidationFailed("custom fields are an object with short string keys", field="custom_fields")
        out["custom_fields"] = custom
    return out


def create_ticket(rt: Runtime, actor: Actor, fields: dict[str, Any], *, notify_customer: bool = True) -> Ticket:
    """Open a ticket (from the API, an agent's action on a conversation, a bot or an automation)."""
    actor.require_write()
    for attempt in range(_NUMBER_RETRIES):
        try:
            with rt.db.transaction() as s:
                return create_ticket_in(s, rt, actor, fields, notify_customer=notify_customer)
        except IntegrityError:
            # Two tickets took the same number at once (PostgreSQL): the loser takes the next one.
            if attempt == _NUMBER_RETRIES - 1:
                raise Conflict("could not number the ticket, please retry") from None
    raise AssertionError("unreachable")


def create_ticket_in(s: Session, rt: Runtime, actor: Actor, fields: dict[str, Any], *,
                     notify_customer: bool = True) -> Ticket:
    """Inside the caller's transaction: what a bot step or an automation rule calls."""
    now = rt.clock.now()
    conv: Conversation | None = None
    if fields.get("conversation_id") is not None:
        conv = get_conversation_in(s, actor, int(fields["conversation_id"]))
    contact_id = fields.get("contact_id")
    if contact_id is not None:
        contact = s.get(Contact, int(contact_id))
        if contact is None or contact.workspace_id != actor.workspace_id:
            raise NotFound("contact not found", field="contact_id")
    elif conv is not None:
        contact_id = conv.contact_id
    if not str(fields.get("subject") or "").strip() and conv is not None:
        fields = {**fields, "subject": conv.last_message_preview or f"Conversation {conv.id}"}
    values = _check_fields(s, actor, {"type": "question", "priority": "normal", **fields})
    if "subject" not in values:
        raise ValidationFailed("a ticket needs a subject", field="subject")
    if conv is not None:
        # Opened from a conversation: whoever handles the chat handles the ticket, unless told otherwise.
        values.setdefault("assignee_id", conv.assignee_id)
        values.setdefault("team_id", conv.team_id)
    number = (s.scalar(select(func.max(Ticket.number)).where(Ticket.workspace_id == actor.workspace_id)) or 0) + 1
    t = Ticket(workspace_id=actor.workspace_id, number=number, status="new", contact_id=contact_id,
               conversation_id=conv.id if conv else None, created_at=now, updated_at=now, **values)
    s.add(t)
    s.flush()
    if conv is not None:
        s.add(TicketConversation(workspace_id=t.workspace_id, ticket_id=t.id, conversation_id=conv.id,
                                 created_at=now))
    sla.apply_in(s, t, now)
    ev = record(s, t, "created", now=now, actor_user_id=actor.user_id, event_type="ticket.created", rt=rt)
    if notify_customer:
        ticket_updates.created_in(s, rt, t, event_id=ev.id, now=now)
    return t


def update_ticket(rt: Runtime, actor: Actor, ticket_id: int, fields: dict[str, Any]) -> Ticket:
    actor.require_write()
    with rt.db.transaction() as s:
        t = get_ticket_in(s, actor, ticket_id)
        values = _check_fields(s, actor, fields)
        now = rt.clock.now()
        changed = {k: [getattr(t, k), v] for k, v in values.items() if getattr(t, k) != v}
        if not changed:
            return t
        for k, v in values.items():
            setattr(t, k, v)
        t.updated_at = now
        if "priority" in changed or "type" in changed:
            sla.apply_in(s, t, now)  # the targets follow the new priority, counted from the opening
        record(s, t, "updated", now=now, actor_user_id=actor.user_id, data={"changed": changed},
               event_type="ticket.updated", rt=rt)
        return t


def set_status(rt: Runtime, actor: Actor, ticket_id: int, status: str, *, notify_customer: bool = True,
               ) -> tuple[Ticket, ticket_updates.Outcome | None]:
    """Move a ticket; the SLA pauses while pending; the customer is told in their app."""
    actor.require_write()
    with rt.db.transaction() as s:
        t = get_ticket_in(s, actor, ticket_id)
        if status not in STATUSES:
            raise ValidationFailed(f"status is one of {', '.join(STATUSES)}", field="status")
        if t.status == status:
            return t, None
        if t.status in FINAL:
            raise Conflict("a closed ticket cannot change; open a new one", field="status")
        now = rt.clock.now()
        before, t.status, t.updated_at = t.status, status, now
        sla.refresh_first_response_in(s, t)
        if status == "pending":
            sla.pause_in(s, t, now)
        elif before == "pending":
            sla.resume_in(s, t, now)
        if status == "solved":
            t.solved_at = now
            # One CSAT per resolution: not when the conversation's survey already asked (issue 7).
            if notify_customer and t.csat_score is None and not csat_once.survey_asked(s, t, now):
                t.csat_requested_at = now
        elif status == "closed":
            t.closed_at = now
            t.solved_at = t.solved_at or now
        elif before in ("solved",):
            t.solved_at = None  # reopened
        sla.schedule_in(s, t)
        ev = record(s, t, "status", now=now, actor_user_id=actor.user_id, data={"from": before, "to": status},
                    event_type="ticket.status_changed", rt=rt)
        outcome = ticket_updates.status_changed_in(s, rt, t, event_id=ev.id, now=now) if notify_customer else None
        return t, outcome


def add_note(rt: Runtime, actor: Actor, ticket_id: int, text: str) -> TicketEvent:
    """An internal note: seen by the team, never sent to the customer (DLP applies as to any note)."""
    actor.require_write()
    if not text.strip():
        raise ValidationFailed("a note needs text", field="text")
    with rt.db.transaction() as s:
        t = get_ticket_in(s, actor, ticket_id)
        protected = protect(s, workspace_id=t.workspace_id, channel_id=channel_of(s, t), direction=DlpDirection.NOTE,
                            text=text, custom=rt.settings.dlp_custom_detectors)
        now = rt.clock.now()
        ev = record(s, t, "note", now=now, actor_user_id=actor.user_id, text=protected.text,
                    event_type="ticket.note_added", rt=rt)
        record_protection(s, protected, workspace_id=t.workspace_id, conversation_id=t.conversation_id,
                          agent_user_id=actor.user_id, box_encrypt=rt.box.encrypt, now=now)
        return ev


def link_conversation(rt: Runtime, actor: Actor, ticket_id: int, conversation_id: int) -> Ticket:
    actor.require_write()
    with rt.db.transaction() as s:
        t = get_ticket_in(s, actor, ticket_id)
        conv = get_conversation_in(s, actor, conversation_id)
        if s.get(TicketConversation, (t.id, conv.id)) is None:
            now = rt.clock.now()
            s.add(TicketConversation(workspace_id=t.workspace_id, ticket_id=t.id, conversation_id=conv.id,
                                     created_at=now))
            t.conversation_id = t.conversation_id or conv.id
            t.updated_at = now
            record(s, t, "linked", now=now, actor_user_id=actor.user_id, data={"conversation_id": conv.id},
                   event_type="ticket.updated", rt=rt)
        return t


def linked_conversations(rt: Runtime, actor: Actor, ticket_id: int) -> list[int]:
    with rt.db.read() as s:
        t = get_ticket_in(s, actor, ticket_id)
        return list(s.scalars(select(TicketConversation.conversation_id)
                              .where(TicketConversation.ticket_id == t.id).order_by(TicketConversation.created_at)))


def history(rt: Runtime, actor: Actor, ticket_id: int, *, kind: str | None = None) -> list[TicketEvent]:
    with rt.db.read() as s:
        t = get_ticket_in(s, actor, ticket_id)
        q = select(TicketEvent).where(TicketEvent.ticket_id == t.id)
        if kind:
            q = q.where(TicketEvent.kind == kind)
        return list(s.scalars(q.order_by(TicketEvent.id)))


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None  # one status, or "active" (everything not solved/closed)
    priority: str | None = None
    assignee: str = "all"  # all | mine | unassigned
    team_id: int | None = None
    channel_id: int | None = None
    contact_id: int | None = None
    sla: str | None = None  # "breached" | "at_risk" (warned, not breached)
    q: str = ""


def visible(actor: Actor) -> Select[Ticket]:
    stmt = select(Ticket).where(Ticket.workspace_id == actor.workspace_id)
    if actor.channel_ids is not None:
        # Agents see tickets of their inboxes, and tickets with no conversation.
        in_inbox = select(Conversation.id).where(Conversation.channel_id.in_(sorted(actor.channel_ids) or [-1]))
        stmt = stmt.where(or_(Ticket.conversation_id.is_(None), Ticket.conversation_id.in_(in_inbox)))
    return stmt


def list_tickets(rt: Runtime, actor: Actor, f: TicketFilter, *, before: int | None = None,
                 limit: int = 50) -> tuple[list[Ticket], int | None]:
    """Newest first, paged by id (keyset: ``before`` is the last id of the previous page)."""
    limit = max(1, min(limit, 200))
    stmt = visible(actor)
    if f.status == "active":
        stmt = stmt.where(Ticket.status.not_in(sla.DONE))
    elif f.status:
        if f.status not in STATUSES:
            raise ValidationFailed(f"status is one of {', '.join(STATUSES)} or active", field="status")
        stmt = stmt.where(Ticket.status == f.status)
    if f.priority:
        if f.priority not in sla.PRIORITIES:
            raise ValidationFailed(f"priority is one of {', '.join(sla.PRIORITIES)}", field="priority")
        stmt = stmt.where(Ticket.priority == f.priority)
    if f.assignee == "mine":
        stmt = stmt.where(Ticket.assignee_id == actor.user_id)
    elif f.assignee == "unassigned":
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif f.assignee != "all":
        raise ValidationFailed("assignee is all, mine or unassigned", field="assignee")
    if f.team_id is not None:
        stmt = stmt.where(Ticket.team_id == f.team_id)
    if f.contact_id is not None:
        stmt = stmt.where(Ticket.contact_id == f.contact_id)
    if f.channel_id is not None:
        stmt = stmt.where(Ticket.conversation_id.in_(
            select(Conversation.id).where(Conversation.channel_id == f.channel_id)))
    if f.sla == "breached":
        stmt = stmt.where(or_(Ticket.first_response_breached_at.is_not(None),
                              Ticket.resolution_breached_at.is_not(None)))
    elif f.sla == "at_risk":
        stmt = stmt.where(or_(Ticket.first_response_warned_at.is_not(None), Ticket.resolution_warned_at.is_not(None)),
                          Ticket.first_response_breached_at.is_(None), Ticket.resolution_breached_at.is_(None))
    elif f.sla:
        raise ValidationFailed("sla is breached or at_risk", field="sla")
    if f.q.strip():
        q = f.q.strip()
        cond: ColumnElement[bool] = Ticket.subject.ilike(f"%{q.replace('%', '').replace('_', '')}%")
        if q.lstrip("#").isdigit() and len(q.lstrip("#")) < 10:
            cond = or_(cond, Ticket.number == int(q.lstrip("#")))
        stmt = stmt.where(cond)
    if before is not None:
        stmt = stmt.where(Ticket.id < before)
    with rt.db.read() as s:
        rows = list(s.scalars(stmt.order_by(Ticket.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    return items, (items[-1].id if len(rows) > limit else None)
