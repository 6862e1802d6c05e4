"""The pipeline's hook into the bots: ingest writes a durable ``bot.inbound`` task with each customer
message of a workspace that has an active flow (in the ingest transaction, so no reply is lost if
the process dies before answering). Kept free of heavy imports: ingest's hot path loads it.

One message, one bot answer: two bots listen to customers, the flow engine and the ticket bot
("a che punto è il mio ticket?", a 1–5 satisfaction score; issue 8). Ingest decides once, with
``ticket_bot_claims_in``, which of them answers, and tells the flow engine in its task payload:
mid-flow the flow owns every message (a "3" is a party size, not a score); otherwise the ticket
bot takes what it would answer and the flow engine stays silent on that message."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crocevia.jobs.tasks import enqueue_in
from crocevia.services import ticket_texts
from crocevia.storage.fast import FastStatement, exists_once_per_transaction
from crocevia.storage.tables import BotFlow, Ticket

BOT_TASK = "bot.inbound"
_CACHE_KEY = "crocevia.bots.active"


# On the raw cursor (storage/fast.py): ingest asks it in every group commit.
_ACTIVE_FLOW = FastStatement(select(BotFlow.id).where(
    BotFlow.workspace_id == bindparam("workspace_id"), BotFlow.is_active.is_(True)).limit(1))


def has_active_bots_in(s: Session, workspace_id: int) -> bool:
    return exists_once_per_transaction(s, _CACHE_KEY, _ACTIVE_FLOW, {"workspace_id": workspace_id})


def ticket_bot_claims_in(s: Session, *, workspace_id: int, contact_id: int, text: str, flow_running: bool) -> bool:
    """Whether the ticket bot answers this message (then the flow engine does not)."""
    if flow_running or not text or not ticket_texts.worth_a_look(text):
        return False
    if ticket_texts.status_question(text)[0]:
        return True
    # A lone digit is a satisfaction score only when a survey of theirs waits for one.
    return s.scalar(select(Ticket.id).where(
        Ticket.workspace_id == workspace_id, Ticket.contact_id == contact_id,
        Ticket.csat_requested_at.is_not(None), Ticket.csat_score.is_(None)).limit(1)) is not None


def enqueue_bot_turn_in(s: Session, *, workspace_id: int, message_id: int, ticket_bot_answers: bool = False) -> None:
    if has_active_bots_in(s, workspace_id):
        payload: dict[str, object] = {"message_id": message_id}
        if ticket_bot_answers:
            payload["ticket_bot"] = True
        enqueue_in(s, workspace_id=workspace_id, kind=BOT_TASK, payload=payload)
