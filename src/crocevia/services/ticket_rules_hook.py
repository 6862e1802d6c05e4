"""Hooks into ticket rules for conversation events. A customer message in a workspace with an active
``message.received`` rule, or a label added to a conversation in one with an active
``conversation.label_added`` rule, gets a durable ``ticket.rules`` task, written in the transaction of
the change (so a crash never loses it). Light on imports and cached per transaction: ingest's hot
path loads it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crocevia.jobs.tasks import enqueue_in
from crocevia.storage.fast import FastStatement, exists_once_per_transaction
from crocevia.storage.tables import TicketRule

RULES_TASK = "ticket.rules"
LABEL_EVENT = "conversation.label_added"
_CACHE_KEY = "crocevia.ticket_rules.active"


# On the raw cursor (storage/fast.py): ingest asks it in every group commit.
_ACTIVE_RULE = FastStatement(select(TicketRule.id).where(
    TicketRule.workspace_id == bindparam("workspace_id"), TicketRule.event == bindparam("event"),
    TicketRule.is_active.is_(True)).limit(1))


def _has_rules(s: Session, workspace_id: int, event: str) -> bool:
    return exists_once_per_transaction(s, _CACHE_KEY, _ACTIVE_RULE, {"workspace_id": workspace_id, "event": event})


def enqueue_message_rules_in(s: Session, *, workspace_id: int, message_id: int) -> None:
    if _has_rules(s, workspace_id, "message.received"):
        enqueue_in(s, workspace_id=workspace_id, kind=RULES_TASK, payload={"message_id": message_id})


def labels_added_in(s: Session, *, workspace_id: int, conversation_id: int, before: Iterable[str],
                    after: Iterable[str]) -> None:
    """One task per label in ``after`` and not in ``before`` (an agent's, the API's or a bot's change;
    a rule's own additions do not call this: rules never trigger rules)."""
    added = sorted(set(after) - set(before))
    if added and _has_rules(s, workspace_id, LABEL_EVENT):
        for label in added:
            enqueue_in(s, workspace_id=workspace_id, kind=RULES_TASK,
                       payload={"event": LABEL_EVENT, "conversation_id": conversation_id, "label": label})
