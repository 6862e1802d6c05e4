"""Automation rules on tickets: when (event) + if (conditions) → then (actions), audited.

A rule listens to one event. ``ticket.*`` rules run inside the transaction that records the event
(``ticket_common.record`` calls ``on_ticket_event_in``), so the change, the rule's actions and their
audit row commit together. ``message.received`` rules run from a durable task after the inbound
message is committed (see ``ticket_rules_hook``) and may open a ticket from the conversation.

Changes a rule makes are recorded as one ``rule`` history row and go out as ``ticket.updated``;
they never trigger rules again (no loops). Kept deliberately small: equality, membership and
"contains" tests on a few fields; assign, set priority, add a label, notify the team, open a ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.errors import NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import (
    Contact,
    Conversation,
    Message,
    Team,
    Ticket,
    TicketConversation,
    TicketEvent,
    TicketRule,
    User,
)

Event = Literal["ticket.created", "ticket.updated", "ticket.status_changed", "ticket.note_added",
                "ticket.sla_warning", "ticket.sla_breached", "ticket.csat", "message.received"]
ConditionField = Literal["ticket.priority", "ticket.type", "ticket.status", "ticket.subject", "ticket.team_id",
                         "ticket.assignee_id", "status.from", "status.to", "sla.target", "contact.language",
                         "conversation.channel_id", "conversation.labels", "message.text"]
_GUARD = "crocevia.ticket_rules.running"
_DONE = ("solved", "closed")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    field: ConditionField
    # eq/ne: equal or not; in: one of a list; contains: a word in a text (any case) or an item of a list.
    op: Literal["eq", "ne", "in", "contains"] = "eq"
    value: str | int | list[str | int] | None = None


class SetPriority(_Strict):
    type: Literal["set_priority"]
    priority: Literal["low", "normal", "high", "urgent"]


class AssignTeam(_Strict):
    type: Literal["assign_team"]
    team_id: int = Field(ge=1)


class AssignUser(_Strict):
    type: Literal["assign_user"]
    user_id: int = Field(ge=1)


class AddLabel(_Strict):
    type: Literal["add_label"]
    label: str = Field(min_length=1, max_length=40, pattern=r"^[\w\- ]+$")


class Notify(_Strict):
    """Tell the team (live inbox and outgoing webhooks get a ``ticket.notification`` event)."""

    type: Literal["notify"]
    text: str = Field(min_length=1, max_length=500)


class OpenTicket(_Strict):
    """Only on ``message.received``: open a ticket from the conversation, unless one is active."""

    type: Literal["open_ticket"]
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    ticket_type: str = Field(default="question", pattern=r"^[a-z][a-z0-9_\-]{0,39}$")


Action = Annotated[SetPriority | AssignTeam | AssignUser | AddLabel | Notify | OpenTicket,
                   Field(discriminator="type")]


class RuleIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    event: Event
    conditions: list[Condition] = Field(default=[], max_length=20)
    actions: list[Action] = Field(min_length=1, max_length=10)
    is_active: bool = True


class RulePatch(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    event: Event | None = None
    conditions: list[Condition] | None = Field(default=None, max_length=20)
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=10)
    is_active: bool | None = None


def rule_dict(r: TicketRule) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "event": r.event, "conditions": r.conditions, "actions": r.actions,
            "is_active": r.is_active, "created_at": r.created_at.isoformat()}


def _parse(values: dict[str, Any]) -> RuleIn:
    try:
        return RuleIn.model_validate(values)
    except ValidationError as exc:  # callers outside HTTP (CLI, demo) get the same field-named error
        err = exc.errors()[0]
        raise ValidationFailed(err["msg"], field=".".join(str(p) for p in err["loc"])) from None


def _check(s: Session, actor: Actor, rule: RuleIn) -> None:
    """What pydantic cannot know: ids belong to this workspace; actions fit the event."""
    for i, a in enumerate(rule.actions):
        if isinstance(a, AssignTeam):
            team = s.get(Team, a.team_id)
            if team is None or team.workspace_id != actor.workspace_id:
                raise NotFound("team not found", field=f"actions.{i}.team_id")
        elif isinstance(a, AssignUser):
            user = s.get(User, a.user_id)
            if user is None or user.workspace_id != actor.workspace_id:
                raise NotFound("user not found", field=f"actions.{i}.user_id")
        elif isinstance(a, OpenTicket) and rule.event != "message.received":
            raise ValidationFailed("open_ticket runs only on message.received", field=f"actions.{i}.type")
        elif not isinstance(a, (OpenTicket, AddLabel, Notify)) and rule.event == "message.received":
            raise ValidationFailed("on message.received a rule may open a ticket, add a label or notify",
                                   field=f"actions.{i}.type")
    for i, c in enumerate(rule.conditions):
        if c.op == "in" and not isinstance(c.value, list):
            raise ValidationFailed("'in' needs a list of values", field=f"conditions.{i}.value")
        if c.field == "message.text" and rule.event != "message.received":
            raise ValidationFailed("message.text is known only on message.received", field=f"conditions.{i}.field")


def get_rule_in(s: Session, actor: Actor, rule_id: int) -> TicketRule:
    return get_in_workspace(s, TicketRule, rule_id, actor, "rule not found")


def create_rule(rt: Runtime, actor: Actor, values: dict[str, Any]) -> TicketRule:
    actor.require_admin()
    rule = _parse(values)
    with rt.db.transaction() as s:
        _check(s, actor, rule)
        r = TicketRule(workspace_id=actor.workspace_id, created_at=rt.clock.now(), **rule.model_dump())
        s.add(r)
        s.flush()
        return r


def update_rule(rt: Runtime, actor: Actor, rule_id: int, values: dict[str, Any]) -> TicketRule:
    actor.require_admin()
    with rt.db.transaction() as s:
        r = get_rule_in(s, actor, rule_id)
        current = {k: v for k, v in rule_dict(r).items() if k not in ("id", "created_at")}
        rule = _parse({**current, **{k: v for k, v in values.items() if v is not None}})
        _check(s, actor, rule)
        for k, v in rule.model_dump().items():
            setattr(r, k, v)
        return r


def delete_rule(rt: Runtime, actor: Actor, rule_id: int) -> None:
    actor.require_admin()
    with rt.db.transaction() as s:
        s.delete(get_rule_in(s, actor, rule_id))


def list_rules(rt: Runtime, actor: Actor) -> list[TicketRule]:
    with rt.db.read() as s:
        return list(s.scalars(select(TicketRule).where(TicketRule.workspace_id == actor.workspace_id)
                              .order_by(TicketRule.id)))


# -- evaluation ------------------------------------------------------------------------------------
def _rules_for(s: Session, workspace_id: int, event: str) -> list[TicketRule]:
    return list(s.scalars(select(TicketRule).where(TicketRule.workspace_id == workspace_id,
                                                   TicketRule.event == event, TicketRule.is_active.is_(True))
                          .order_by(TicketRule.id)))


def _context(s: Session, t: Ticket | None, conv: Conversation | None, data: dict[str, Any],
             text: str = "") -> dict[str, Any]:
    contact_id = (t.contact_id if t else None) or (conv.contact_id if conv else None)
    contact = s.get(Contact, contact_id) if contact_id else None
    ctx: dict[str, Any] = {
        "status.from": data.get("from"), "status.to": data.get("to"), "sla.target": data.get("target"),
        "contact.language": contact.language if contact else None,
        "conversation.channel_id": conv.channel_id if conv else None,
        "conversation.labels": list(conv.labels or []) if conv else [],
        "message.text": text,
    }
    if t is not None:
        ctx.update({"ticket.priority": t.priority, "ticket.type": t.type, "ticket.status": t.status,
                    "ticket.subject": t.subject, "ticket.team_id": t.team_id, "ticket.assignee_id": t.assignee_id})
    return ctx


def matches(c: dict[str, Any], ctx: dict[str, Any]) -> bool:
    have, want, op = ctx.get(c["field"]), c.get("value"), c.get("op", "eq")
    if op == "eq":
        return bool(have == want)
    if op == "ne":
        return bool(have != want)
    if op == "in":
        return have in (want or [])
    if isinstance(have, list):
        return str(want).lower() in [str(x).lower() for x in have]
    return str(want or "").lower() in str(have or "").lower()


def on_ticket_event_in(s: Session, t: Ticket, event_type: str, ev: TicketEvent, now: datetime) -> None:
    """Run the workspace's rules for a ticket event, in the caller's transaction."""
    if s.info.get(_GUARD):
        return  # a rule's own changes do not trigger rules
    rules = _rules_for(s, t.workspace_id, event_type)
    if not rules:
        return
    conv = s.get(Conversation, t.conversation_id) if t.conversation_id else None
    ctx = _context(s, t, conv, ev.data or {})
    s.info[_GUARD] = True
    try:
        for r in rules:
            if all(matches(c, ctx) for c in r.conditions):
                _run_on_ticket(s, t, conv, r, now)
    finally:
        s.info[_GUARD] = False


def _run_on_ticket(s: Session, t: Ticket, conv: Conversation | None, r: TicketRule, now: datetime) -> None:
    from crocevia.services import sla  # sla → ticket_common → here: import when first needed
    from crocevia.services.events import emit
    from crocevia.services.ticket_common import channel_of, record, ticket_dict

    done: list[dict[str, Any]] = []
    for a in r.actions:
        kind = a["type"]
        if kind == "set_priority" and t.priority != a["priority"]:
            t.priority = a["priority"]
            sla.apply_in(s, t, now)
            done.append(a)
        elif kind == "assign_team" and t.team_id != a["team_id"] and _ours(s.get(Team, a["team_id"]), t):
            t.team_id = a["team_id"]
            done.append(a)
        elif kind == "assign_user" and t.assignee_id != a["user_id"] and _ours(s.get(User, a["user_id"]), t):
            t.assignee_id = a["user_id"]
            done.append(a)
        elif kind == "add_label" and conv is not None and a["label"].lower() not in (conv.labels or []):
            conv.labels = sorted({*(conv.labels or []), a["label"].strip().lower()})
            done.append(a)
        elif kind == "notify":
            emit(s, "ticket.notification", t.workspace_id,
                 {"ticket": ticket_dict(t), "rule_id": r.id, "text": a["text"]}, channel_id=channel_of(s, t))
            done.append(a)
    if done:
        t.updated_at = now
        record(s, t, "rule", now=now, text=r.name, data={"rule_id": r.id, "actions": done},
               event_type="ticket.updated")


def _ours(row: Team | User | None, t: Ticket) -> bool:
    """The team or user still exists in the ticket's workspace (it may have gone since the rule was saved)."""
    return row is not None and row.workspace_id == t.workspace_id


def on_message_in(s: Session, rt: Runtime, message_id: int) -> list[int]:
    """``message.received`` rules for one inbound message; the ids of the rules that fired."""
    msg = s.get(Message, message_id)
    conv = s.get(Conversation, msg.conversation_id) if msg is not None else None
    if msg is None or conv is None:
        return []
    rules = _rules_for(s, conv.workspace_id, "message.received")
    ctx = _context(s, None, conv, {}, msg.text or "")
    fired: list[int] = []
    for r in rules:
        if all(matches(c, ctx) for c in r.conditions):
            _run_on_message(s, rt, conv, msg, r)
            fired.append(r.id)
    return fired


def _run_on_message(s: Session, rt: Runtime, conv: Conversation, msg: Message, r: TicketRule) -> None:
    from crocevia.services import tickets
    from crocevia.services.events import emit
    from crocevia.services.ticket_common import record

    now = rt.clock.now()
    actor = Actor.system(conv.workspace_id)
    ticket: Ticket | None = _active_ticket(s, conv)
    for a in r.actions:
        if a["type"] == "open_ticket" and ticket is None:
            ticket = tickets.create_ticket_in(s, rt, actor, {
                "conversation_id": conv.id, "subject": (msg.text or "").strip()[:300],
                "priority": a["priority"], "type": a["ticket_type"]})
            record(s, ticket, "rule", now=now, text=r.name,
                   data={"rule_id": r.id, "actions": [a], "message_id": msg.id})
        elif a["type"] == "add_label" and a["label"].lower() not in (conv.labels or []):
            conv.labels = sorted({*(conv.labels or []), a["label"].strip().lower()})
        elif a["type"] == "notify":
            emit(s, "ticket.notification", conv.workspace_id,
                 {"conversation_id": conv.id, "rule_id": r.id, "text": a["text"]}, channel_id=conv.channel_id)


def _active_ticket(s: Session, conv: Conversation) -> Ticket | None:
    """The conversation's open ticket: a second message about it must not open another."""
    linked = select(TicketConversation.ticket_id).where(TicketConversation.conversation_id == conv.id)
    return s.scalar(select(Ticket).where(Ticket.id.in_(linked), Ticket.status.not_in(_DONE))
                    .order_by(Ticket.id.desc()).limit(1))
