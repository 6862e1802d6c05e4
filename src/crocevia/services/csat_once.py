"""One CSAT per resolution: the ticket's and the conversation's surveys never both ask.

Two features can ask a customer to rate the help they got: solving a ticket (issue 8) appends a
1–5 question to the "solved" update, and resolving a conversation (issue 7, ``csat_on_resolve``)
asks the survey. When an agent solves a ticket and resolves the conversation it came from, both
would fire for the same resolution. Whichever asks first wins; the other checks here and stays
quiet while the first question can still be answered (``surveys.ANSWER_WITHIN``), so the customer
gets one question and their "5" is scored once, by whoever asked.

The ticket's conversations are the one its updates go to and every linked one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crocevia.storage.tables import Conversation, SurveyResponse, Ticket, TicketConversation


def _window_start(now: datetime) -> datetime:
    from crocevia.services.surveys import ANSWER_WITHIN

    return now - ANSWER_WITHIN


def ticket_asked(s: Session, conv: Conversation, now: datetime) -> bool:
    """A ticket about this conversation already asked its customer for a CSAT, recently."""
    linked = select(TicketConversation.ticket_id).where(TicketConversation.conversation_id == conv.id)
    hit = s.scalar(select(Ticket.id).where(
        Ticket.workspace_id == conv.workspace_id, Ticket.contact_id == conv.contact_id,
        Ticket.csat_requested_at.is_not(None), Ticket.csat_requested_at >= _window_start(now),
        or_(Ticket.conversation_id == conv.id, Ticket.id.in_(linked))).limit(1))
    return hit is not None


def survey_asked(s: Session, t: Ticket, now: datetime) -> bool:
    """The conversation survey already asked this ticket's customer about one of its conversations."""
    if t.contact_id is None:
        return False
    convs = select(TicketConversation.conversation_id).where(TicketConversation.ticket_id == t.id)
    hit = s.scalar(select(SurveyResponse.id).where(
        SurveyResponse.workspace_id == t.workspace_id, SurveyResponse.contact_id == t.contact_id,
        SurveyResponse.kind == "csat", SurveyResponse.campaign_id.is_(None),
        SurveyResponse.asked_at >= _window_start(now),
        or_(SurveyResponse.conversation_id == t.conversation_id, SurveyResponse.conversation_id.in_(convs))).limit(1))
    return hit is not None
