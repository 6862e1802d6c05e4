"""Durable tasks for tickets: the SLA check at a ticket's next due moment, and the bot's answer to a
customer asking about their ticket (both run after the commit that made them necessary)."""

from __future__ import annotations

from crocevia.jobs.tasks import task_handler
from crocevia.runtime import Runtime
from crocevia.services import sla, ticket_inbound, ticket_rules
from crocevia.services.ticket_rules_hook import RULES_TASK
from crocevia.storage.tables import Task

INBOUND_KIND = "ticket.inbound"


@task_handler(sla.TASK_KIND)
def check_sla(rt: Runtime, task: Task) -> None:
    sla.check_ticket(rt, int(task.payload["ticket_id"]))


@task_handler(INBOUND_KIND)
def answer_customer(rt: Runtime, task: Task) -> None:
    ticket_inbound.answer(rt, int(task.payload["message_id"]))


@task_handler(RULES_TASK)
def message_rules(rt: Runtime, task: Task) -> None:
    # One transaction: a ticket the rule opens and its audit row commit together, or neither does.
    with rt.db.transaction() as s:
        ticket_rules.on_message_in(s, rt, int(task.payload["message_id"]))
