"""Durable tasks for tickets: the SLA check at a ticket's next due moment, and the bot's answer to a
customer asking about their ticket (both run after the commit that made them necessary)."""

from __future__ import annotations

from crocevia.jobs.tasks import task_handler
from crocevia.runtime import Runtime
from crocevia.services import sla, ticket_inbound, ticket_rules
from crocevia.services.ticket_rules_hook import LABEL_EVENT, RULES_TASK
from crocevia.storage.tables import Task

INBOUND_KIND = "ticket.inbound"


@task_handler(sla.TASK_KIND)
def check_sla(rt: Runtime, task: Task) -> None:
    sla.check_ticket(rt, int(task.payload["ticket_id"]))


@task_handler(INBOUND_KIND)
def answer_customer(rt: Runtime, task: Task) -> None:
    ticket_inbound.answer(rt, int(task.payload["message_id"]))


@task_handler(RULES_TASK)
def conversation_rules(rt: Runtime, task: Task) -> None:
    # One transaction: a ticket the rule opens, a message it sends and its audit rows commit together,
    # or none does (a retried task then runs the rules again; send keys make repeats no-ops).
    with rt.db.transaction() as s:
        if task.payload.get("event") == LABEL_EVENT:
            ticket_rules.on_label_added_in(s, rt, int(task.payload["conversation_id"]), str(task.payload["label"]),
                                           key=f"task-{task.id}")
        else:
            ticket_rules.on_message_in(s, rt, int(task.payload["message_id"]))
