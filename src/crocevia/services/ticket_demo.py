"""Demo content for tickets: SLA policies on Italian business hours, a rule that opens a ticket when a
customer reports a fault, and a first ticket."""

from __future__ import annotations

from crocevia.runtime import Runtime
from crocevia.services import sla, ticket_rules, tickets
from crocevia.services.actor import Actor

WEEKDAYS_9_18 = {str(d): ["09:00", "18:00"] for d in range(1, 6)}


def seed_tickets(rt: Runtime, actor: Actor, agent_id: int) -> None:
    for priority, first, resolution in (("urgent", 30, 240), ("high", 60, 480), (None, 240, 2400)):
        sla.create_policy(rt, actor, {
            "name": f"SLA {priority or 'standard'}", "priority": priority, "first_response_minutes": first,
            "resolution_minutes": resolution, "warn_minutes": 15, "timezone": "Europe/Rome",
            "business_hours": WEEKDAYS_9_18, "holidays": ["2026-12-08", "2026-12-25", "2026-12-26"]})
    tickets.create_ticket(rt, actor, {"subject": "Forno a legna: controllo del fornitore", "type": "task",
                                      "priority": "high", "assignee_id": agent_id}, notify_customer=False)
    ticket_rules.create_rule(rt, actor, {
        "name": "Un guasto apre un ticket", "event": "message.received",
        "conditions": [{"field": "message.text", "op": "contains", "value": "guasto"}],
        "actions": [{"type": "open_ticket", "priority": "high", "ticket_type": "incident"}]})
