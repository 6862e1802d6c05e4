"""Telling the customer about their ticket, in the app they used and in their language.

Every update goes through ``messages.enqueue_in`` (the function ``send_message`` uses), inside the
transaction that changes the ticket: the reply window, opt-out, DLP and the outbox all apply, and
the change and its message commit together. When the platform's reply window is closed, a channel
with templates gets the approved status template instead; otherwise the ticket's history records
why the customer was not told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.channels.registry import get_adapter
from crocevia.domain.enums import AuthorType
from crocevia.errors import CroceviaError, PolicyViolation
from crocevia.runtime import Runtime
from crocevia.services import ticket_texts as texts
from crocevia.services.messages import SendRequest, enqueue_in
from crocevia.services.ticket_common import record
from crocevia.storage.tables import Channel, Contact, Conversation, Message, Ticket, Workspace


@dataclass(frozen=True)
class Outcome:
    told: bool
    via: str = ""  # "text" | "template"
    message_id: int | None = None
    reason: str = ""


def language_for(s: Session, t: Ticket, conv: Conversation | None = None) -> str:
    contact_id = t.contact_id or (conv.contact_id if conv else None)
    contact = s.get(Contact, contact_id) if contact_id else None
    ws = s.get(Workspace, t.workspace_id)
    return texts.language_of(contact.language if contact else None, ws.language if ws else None)


def tell_in(s: Session, rt: Runtime, t: Ticket, body: str, *, key: str, now: datetime,
            template_params: list[str] | None = None, conv: Conversation | None = None) -> Outcome:
    """Send ``body`` on the ticket's conversation (or the status template when the window is closed),
    and record in the ticket's history what happened. ``key`` makes a repeat a no-op. ``conv`` answers
    in another conversation than the ticket's (where the customer just asked)."""
    prior = s.scalar(select(Message.id).where(Message.workspace_id == t.workspace_id,
                                              Message.idempotency_key == key))
    if prior is not None:
        return Outcome(True, "text", prior)
    if conv is None and t.conversation_id:
        conv = s.get(Conversation, t.conversation_id)
    if conv is None:
        return _not_told(s, t, now, "the ticket has no conversation to answer in")
    try:
        msg = enqueue_in(s, rt, conv, SendRequest(text=body, idempotency_key=key, author_type=AuthorType.BOT),
                         author_user_id=None)
        out = Outcome(True, "text", msg.id)
    except PolicyViolation as exc:
        channel = s.get(Channel, conv.channel_id)
        can_template = channel is not None and get_adapter(channel.kind).capabilities.templates
        window_rule = "window_closed_at" in exc.extra  # only the reply window lets a template through
        if not (template_params is not None and can_template and window_rule):
            return _not_told(s, t, now, exc.detail, rule=str(exc.extra.get("rule") or ""))
        lang = language_for(s, t, conv)
        template = {"name": texts.STATUS_TEMPLATE, "language": lang, "parameters": template_params}
        try:
            msg = enqueue_in(s, rt, conv, SendRequest(template=template, idempotency_key=key,
                                                      author_type=AuthorType.BOT), author_user_id=None)
        except CroceviaError as again:
            return _not_told(s, t, now, again.detail, rule=str(again.extra.get("rule") or ""))
        out = Outcome(True, "template", msg.id)
    except CroceviaError as exc:  # e.g. a DLP block or a channel that cannot carry text
        return _not_told(s, t, now, exc.detail, rule=str(exc.extra.get("rule") or ""))
    record(s, t, "customer_told", now=now, text=body,
           data={"message_id": out.message_id, "via": out.via, "conversation_id": conv.id})
    return out


def _not_told(s: Session, t: Ticket, now: datetime, reason: str, *, rule: str = "") -> Outcome:
    record(s, t, "customer_not_told", now=now, text=reason, data={"rule": rule},
           event_type="ticket.customer_not_told")
    return Outcome(False, reason=reason)


def status_changed_in(s: Session, rt: Runtime, t: Ticket, *, event_id: int, now: datetime) -> Outcome:
    lang = language_for(s, t)
    label = texts.status_label(t.status, lang)
    body = texts.text("status", lang, number=t.number, label=label)
    if t.status == "solved" and t.csat_requested_at == now:  # asked now (not when a survey already did)
        body += "\n" + texts.text("csat", lang)
    return tell_in(s, rt, t, body, key=f"ticket-{t.id}-ev-{event_id}", now=now,
                   template_params=[str(t.number), label])


def created_in(s: Session, rt: Runtime, t: Ticket, *, event_id: int, now: datetime) -> Outcome:
    lang = language_for(s, t)
    body = texts.text("created", lang, number=t.number, subject=t.subject)
    return tell_in(s, rt, t, body, key=f"ticket-{t.id}-ev-{event_id}", now=now,
                   template_params=[str(t.number), texts.status_label(t.status, lang)])
