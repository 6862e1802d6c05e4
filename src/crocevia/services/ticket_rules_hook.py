"""Ingest's hook into ticket rules: a customer message in a workspace with an active
``message.received`` rule gets a durable ``ticket.rules`` task, written in the ingest transaction
(so a crash never loses it). Light on imports and cached per transaction: ingest's hot path loads it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.jobs.tasks import enqueue_in
from crocevia.storage.tables import TicketRule

RULES_TASK = "ticket.rules"
_CACHE_KEY = "crocevia.ticket_rules.on_message"


def enqueue_message_rules_in(s: Session, *, workspace_id: int, message_id: int) -> None:
    cache: dict[int, bool] = s.info.setdefault(_CACHE_KEY, {})
    if workspace_id not in cache:
        cache[workspace_id] = s.scalar(select(TicketRule.id).where(
            TicketRule.workspace_id == workspace_id, TicketRule.event == "message.received",
            TicketRule.is_active.is_(True)).limit(1)) is not None
    if cache[workspace_id]:
        enqueue_in(s, workspace_id=workspace_id, kind=RULES_TASK, payload={"message_id": message_id})
