"""The ``open_ticket`` flow step: the bot opens a ticket from the conversation (issue 8) and tells the
customer its number in the language of the chat.

Runs inside the turn's transaction, so the ticket, its history and the bot's reply commit together
(a retried turn is rolled back first, so it never opens a second ticket). The customer hears about
the ticket once, from the bot (the ticket's own "we opened ticket no. N" notice is not sent on top),
and the ticket's history records that they were told.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from crocevia.automation.flow import OpenTicketStep
from crocevia.services import sla, ticket_texts, tickets
from crocevia.services.actor import Actor
from crocevia.services.ticket_common import record
from crocevia.storage.tables import Message

if TYPE_CHECKING:
    from crocevia.automation.engine import Turn

_FALLBACK = {"priority": "normal", "ticket_type": "question"}


def open_ticket(turn: Turn, step: OpenTicketStep) -> str | None:
    """Open the ticket, put its number in the slots (``ticket_number``, ``ticket_id``), say so."""
    collected = {k: v for k, v in turn.slots.items() if not k.startswith("_")}
    # Without a subject, the customer's own words (the conversation's preview may be the bot's question).
    subject = (turn.t(step.subject) if step.subject else turn.msg.text or "").strip()[:300]
    description = turn.t(step.description) if step.description else "\n".join(
        f"{k}: {v}" for k, v in collected.items())
    fields: dict[str, Any] = {
        "conversation_id": turn.conv.id, "subject": subject, "description": description,
        "priority": _value(turn.t(step.priority), sla.PRIORITIES, "priority"),
        "type": _value(turn.t(step.ticket_type), None, "ticket_type"),
    }
    t = tickets.create_ticket_in(turn.s, turn.rt, Actor.system(turn.conv.workspace_id), fields,
                                 notify_customer=False)
    turn.slots["ticket_number"], turn.slots["ticket_id"] = t.number, t.id
    body = turn.t(step.text) if step.text else ticket_texts.text("created", turn.sess.lang, number=t.number,
                                                                   subject=t.subject)
    turn.say(body)
    key = f"bot-{turn.msg.id}-{turn.sent}"  # the key ``say`` gave the reply
    msg_id = turn.s.scalar(select(Message.id).where(Message.workspace_id == turn.conv.workspace_id,
                                                    Message.idempotency_key == key))
    record(turn.s, t, "customer_told", now=turn.rt.clock.now(), text=body,
           data={"message_id": msg_id, "via": "bot", "conversation_id": turn.conv.id})
    return step.next


def _value(raw: str, allowed: tuple[str, ...] | None, which: str) -> str:
    """A slot-filled priority or type the ticket can take, else the default (the customer typed it)."""
    value = raw.strip().lower()
    if allowed is not None:
        return value if value in allowed else _FALLBACK[which]
    return value if tickets.TYPE_RE.match(value) else _FALLBACK[which]
