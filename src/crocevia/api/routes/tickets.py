"""Tickets, their notes and history, SLA policies and the ticket report (thin: services do the work)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crocevia.api.deps import ActorDep, IdPath, IdQuery, RuntimeDep
from crocevia.api.schemas import DbId
from crocevia.services import sla, ticket_reports, ticket_rules, tickets
from crocevia.services.ticket_common import ticket_dict, ticket_event_dict
from crocevia.services.tickets import TicketFilter

router = APIRouter(tags=["tickets"])

Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreate(_Strict):
    subject: str = Field(default="", max_length=300)
    description: str = ""
    type: str = "question"
    priority: Priority = "normal"
    contact_id: DbId | None = None
    conversation_id: DbId | None = None
    assignee_id: DbId | None = None
    team_id: DbId | None = None
    custom_fields: dict[str, Any] = {}
    notify_customer: bool = True


class TicketFromConversation(_Strict):
    subject: str = Field(default="", max_length=300)
    description: str = ""
    type: str = "question"
    priority: Priority = "normal"
    notify_customer: bool = True


class TicketUpdate(_Strict):
    subject: str | None = Field(default=None, max_length=300)
    description: str | None = None
    type: str | None = None
    priority: Priority | None = None
    assignee_id: DbId | None = None
    team_id: DbId | None = None
    custom_fields: dict[str, Any] | None = None


class TicketStatusIn(_Strict):
    status: Status
    notify_customer: bool = True


class TicketNoteIn(_Strict):
    text: str


class TicketLinkIn(_Strict):
    conversation_id: DbId


class SlaPolicyIn(_Strict):
    name: str | None = None
    priority: Priority | None = None
    ticket_type: str | None = None
    first_response_minutes: int | None = Field(default=None, ge=0)
    resolution_minutes: int | None = Field(default=None, ge=0)
    warn_minutes: int | None = Field(default=None, ge=0)
    timezone: str | None = None
    business_hours: dict[str, Any] | None = None
    holidays: list[str] | None = None
    escalate_team_id: DbId | None = None
    is_active: bool | None = None


def _ticket_out(rt: RuntimeDep, actor: ActorDep, ticket_id: int) -> dict[str, Any]:
    out = ticket_dict(tickets.get_ticket(rt, actor, ticket_id))
    out["conversation_ids"] = tickets.linked_conversations(rt, actor, ticket_id)
    return out


@router.get("/tickets")
def list_tickets(
    rt: RuntimeDep, actor: ActorDep, status: str | None = None, priority: str | None = None, assignee: str = "all",
    team_id: IdQuery = None, channel_id: IdQuery = None, contact_id: IdQuery = None, sla: str | None = None,
    q: str = "", before: IdQuery = None, limit: int = 50,
) -> dict[str, Any]:
    f = TicketFilter(status=status, priority=priority, assignee=assignee, team_id=team_id, channel_id=channel_id,
                     contact_id=contact_id, sla=sla, q=q)
    items, cursor = tickets.list_tickets(rt, actor, f, before=before, limit=limit)
    return {"items": [ticket_dict(t) for t in items], "next_cursor": cursor}


@router.post("/tickets", status_code=201)
def create_ticket(body: TicketCreate, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    fields = body.model_dump(exclude={"notify_customer"})
    t = tickets.create_ticket(rt, actor, fields, notify_customer=body.notify_customer)
    return _ticket_out(rt, actor, t.id)


@router.post("/conversations/{conversation_id}/ticket", status_code=201)
def open_from_conversation(conversation_id: IdPath, body: TicketFromConversation, rt: RuntimeDep,
                           actor: ActorDep) -> dict[str, Any]:
    """An agent turns the conversation into a ticket; the customer is told its number in the same app."""
    fields = {**body.model_dump(exclude={"notify_customer"}), "conversation_id": conversation_id}
    t = tickets.create_ticket(rt, actor, fields, notify_customer=body.notify_customer)
    return _ticket_out(rt, actor, t.id)


@router.get("/tickets/report")
def report(rt: RuntimeDep, actor: ActorDep, since: AwareDatetime | None = None) -> dict[str, Any]:
    return ticket_reports.report(rt, actor, since=since)


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _ticket_out(rt, actor, ticket_id)


@router.patch("/tickets/{ticket_id}")
def update_ticket(ticket_id: IdPath, body: TicketUpdate, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    tickets.update_ticket(rt, actor, ticket_id, body.model_dump(exclude_unset=True))
    return _ticket_out(rt, actor, ticket_id)


@router.post("/tickets/{ticket_id}/status")
def set_status(ticket_id: IdPath, body: TicketStatusIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Move the ticket; ``customer_update`` says whether the customer was told, how, or why not."""
    _, outcome = tickets.set_status(rt, actor, ticket_id, body.status, notify_customer=body.notify_customer)
    out = _ticket_out(rt, actor, ticket_id)
    out["customer_update"] = None if outcome is None else {
        "told": outcome.told, "via": outcome.via or None, "message_id": outcome.message_id,
        "reason": outcome.reason or None}
    return out


@router.get("/tickets/{ticket_id}/events")
def ticket_history(ticket_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [ticket_event_dict(e) for e in tickets.history(rt, actor, ticket_id)]


@router.get("/tickets/{ticket_id}/notes")
def list_notes(ticket_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [ticket_event_dict(e) for e in tickets.history(rt, actor, ticket_id, kind="note")]


@router.post("/tickets/{ticket_id}/notes", status_code=201)
def add_note(ticket_id: IdPath, body: TicketNoteIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return ticket_event_dict(tickets.add_note(rt, actor, ticket_id, body.text))


@router.post("/tickets/{ticket_id}/conversations")
def link_conversation(ticket_id: IdPath, body: TicketLinkIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    tickets.link_conversation(rt, actor, ticket_id, body.conversation_id)
    return _ticket_out(rt, actor, ticket_id)


@router.get("/sla-policies")
def list_policies(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [sla.policy_dict(p) for p in sla.list_policies(rt, actor)]


@router.post("/sla-policies", status_code=201)
def create_policy(body: SlaPolicyIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return sla.policy_dict(sla.create_policy(rt, actor, body.model_dump(exclude_none=True)))


@router.patch("/sla-policies/{sla_policy_id}")
def update_policy(sla_policy_id: IdPath, body: SlaPolicyIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return sla.policy_dict(sla.update_policy(rt, actor, sla_policy_id, body.model_dump(exclude_unset=True)))


@router.delete("/sla-policies/{sla_policy_id}", status_code=204)
def delete_policy(sla_policy_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> None:
    sla.delete_policy(rt, actor, sla_policy_id)


@router.get("/ticket-rules")
def list_rules(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [ticket_rules.rule_dict(r) for r in ticket_rules.list_rules(rt, actor)]


@router.post("/ticket-rules", status_code=201)
def create_rule(body: ticket_rules.RuleIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """When ``event`` + every condition → the actions; audited in the ticket's history."""
    return ticket_rules.rule_dict(ticket_rules.create_rule(rt, actor, body.model_dump()))


@router.patch("/ticket-rules/{ticket_rule_id}")
def update_rule(ticket_rule_id: IdPath, body: ticket_rules.RulePatch, rt: RuntimeDep,
                actor: ActorDep) -> dict[str, Any]:
    return ticket_rules.rule_dict(ticket_rules.update_rule(rt, actor, ticket_rule_id,
                                                           body.model_dump(exclude_unset=True)))


@router.get("/ticket-rules/{ticket_rule_id}/runs")
def rule_runs(ticket_rule_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The rule's audit trail, newest first: each time it fired, on what, and what each action did."""
    return ticket_rules.list_runs(rt, actor, ticket_rule_id)


@router.delete("/ticket-rules/{ticket_rule_id}", status_code=204)
def delete_rule(ticket_rule_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> None:
    ticket_rules.delete_rule(rt, actor, ticket_rule_id)
