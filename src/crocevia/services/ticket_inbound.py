"""The customer writes about their ticket: "a che punto è il mio ticket?" gets the ticket's status
from the bot; a lone 1–5 after a solve is the satisfaction (CSAT) score.

Runs as a durable task after the inbound message is committed (see ``jobs/ticket_jobs.py``); the
reply's idempotency key is derived from the inbound message, so a re-run never answers twice.
A customer only ever hears about their own tickets.
"""

from __future__ import annotations

import contextlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.domain.enums import AuthorType, Direction
from crocevia.errors import CroceviaError
from crocevia.runtime import Runtime
from crocevia.services import ticket_texts as texts
from crocevia.services.messages import SendRequest, enqueue_in
from crocevia.services.ticket_common import record
from crocevia.services.ticket_updates import language_for, tell_in
from crocevia.storage.tables import Contact, Conversation, Message, Ticket, Workspace


def answer(rt: Runtime, message_id: int) -> str:
    """What the bot did about one inbound message: "status", "csat", or "" (nothing for us)."""
    with rt.db.transaction() as s:
        msg = s.get(Message, message_id)
        if msg is None or msg.direction != Direction.IN.value:
            return ""
        conv = s.get(Conversation, msg.conversation_id)
        if conv is None:
            return ""
        now = rt.clock.now()
        score = texts.csat_score(msg.text or "")
        if score is not None:
            t = s.scalar(select(Ticket).where(
                Ticket.workspace_id == conv.workspace_id, Ticket.contact_id == conv.contact_id,
                Ticket.csat_requested_at.is_not(None), Ticket.csat_score.is_(None),
            ).order_by(Ticket.csat_requested_at.desc()).limit(1))
            if t is None:
                return ""
            t.csat_score, t.updated_at = score, now
            record(s, t, "csat", now=now, data={"score": score, "message_id": msg.id}, event_type="ticket.csat", rt=rt)
            tell_in(s, rt, t, texts.text("csat_thanks", language_for(s, t, conv), score=score),
                    key=f"ticket-csat-{msg.id}", now=now, conv=conv)
            return "csat"
        asked, number = texts.status_question(msg.text or "")
        if not asked:
            return ""
        mine = select(Ticket).where(Ticket.workspace_id == conv.workspace_id, Ticket.contact_id == conv.contact_id)
        if number is not None:
            t = s.scalar(mine.where(Ticket.number == number))
        else:
            t = s.scalar(mine.where(Ticket.status != "closed").order_by(Ticket.id.desc()).limit(1))
        if t is not None:
            lang = language_for(s, t, conv)
            body = texts.text("answer", lang, number=t.number, subject=t.subject,
                              label=texts.status_label(t.status, lang))
            # The customer just wrote, so the reply window is open: answer where they asked.
            tell_in(s, rt, t, body, key=f"ticket-answer-{msg.id}", now=now, conv=conv)
            return "status"
        contact, ws = s.get(Contact, conv.contact_id), s.get(Workspace, conv.workspace_id)
        lang = texts.language_of(contact.language if contact else None, ws.language if ws else None)
        body = (texts.text("answer_unknown", lang, number=number) if number is not None
                else texts.text("answer_none", lang))
        _reply_without_ticket(s, rt, conv, body, key=f"ticket-answer-{msg.id}")
        return "status"


def _reply_without_ticket(s: Session, rt: Runtime, conv: Conversation, body: str, *, key: str) -> None:
    if s.scalar(select(Message.id).where(Message.workspace_id == conv.workspace_id,
                                         Message.idempotency_key == key)) is not None:
        return
    with contextlib.suppress(CroceviaError):  # nothing to record a refusal on: no ticket of theirs exists
        enqueue_in(s, rt, conv, SendRequest(text=body, idempotency_key=key, author_type=AuthorType.BOT),
                   author_user_id=None)
