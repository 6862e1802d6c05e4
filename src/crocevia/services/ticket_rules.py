"""Automation rules on tickets: when (event) + if (conditions) → then (actions), audited.

A rule listens to one event. ``ticket.*`` rules run inside the transaction that records the event
(``ticket_common.record`` calls ``on_ticket_event_in``), so the change, the rule's actions and their
audit row commit together. Conversation events (``message.received``, ``conversation.label_added``)
run from a durable task after the change is committed (see ``ticket_rules_hook``) and may open a
ticket from the conversation.

Every application of a rule is audited: an ``audit_log`` row (action ``rule.applied``, target
``rule:<id>``, with what each action did: the message sent or why not, the webhook delivery queued)
and, on a ticket, one ``rule`` history row that goes out as ``ticket.updated``. A rule's own changes
never trigger rules again (no loops). Kept deliberately small: equality, membership and "contains"
tests on a few fields; assign, set priority, add a label, notify the team, open a ticket, send a
template, call a webhook (the last two in ``rule_actions``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.errors import ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit
from crocevia.services.actor import Actor
from crocevia.services.rule_actions import CallWebhook, SendTemplate, call_webhook_in, check_in, send_template_in
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import (
    AuditLog,
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
                "ticket.sla_warning", "ticket.sla_breached", "ticket.csat", "message.received",
                "conversation.label_added"]
ConditionField = Literal["ticket.priority", "ticket.type", "ticket.status", "ticket.subject", "ticket.team_id",
                         "ticket.assignee_id", "status.from", "status.to", "sla.target", "contact.language",
                         "conversation.channel_id", "conversation.labels", "message.text", "label.name"]
# Events about a conversation (no ticket yet): rules run after commit, from a durable task.
CONVERSATION_EVENTS = ("message.received", "conversation.label_added")
_CONVERSATION_ACTIONS = ("open_ticket", "add_label", "notify", "send_template", "webhook")
LABEL_FIELDS = ("conversation.labels", "label.name")  # condition fields whose values are label names
_GUARD = "crocevia.ticket_rules.running"
AUDIT_ACTION = "rule.applied"
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
    """Only on conversation events: open a ticket from the conversation, unless one is active."""

    type: Literal["open_ticket"]
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    ticket_type: str = Field(default="question", pattern=r"^[a-z][a-z0-9_\-]{0,39}$")


Action = Annotated[SetPriority | AssignTeam | AssignUser | AddLabel | Notify | OpenTicket | SendTemplate
                   | CallWebhook, Field(discriminator="type")]


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
            get_in_workspace(s, Team, a.team_id, actor, "team not found", field=f"actions.{i}.team_id")
        elif isinstance(a, AssignUser):
            get_in_workspace(s, User, a.user_id, actor, "user not found", field=f"actions.{i}.user_id")
        elif isinstance(a, SendTemplate | CallWebhook):
            check_in(s, actor, a, f"actions.{i}")
        if isinstance(a, OpenTicket) and rule.event not in CONVERSATION_EVENTS:
            raise ValidationFailed("open_ticket runs only on message.received or conversation.label_added",
                                   field=f"actions.{i}.type")
        if a.type not in _CONVERSATION_ACTIONS and rule.event in CONVERSATION_EVENTS:
            raise ValidationFailed(f"on {rule.event} a rule may open a ticket, add a label, notify, send a "
                                   "template or call a webhook", field=f"actions.{i}.type")
    for i, c in enumerate(rule.conditions):
        if c.op == "in" and not isinstance(c.value, list):
            raise ValidationFailed("'in' needs a list of values", field=f"conditions.{i}.value")
        if c.field == "message.text" and rule.event != "message.received":
            raise ValidationFailed("message.text is known only on message.received", field=f"conditions.{i}.field")
        if c.field == "label.name" and rule.event != "conversation.label_added":
            raise ValidationFailed("label.name is known only on conversation.label_added",
                                   field=f"conditions.{i}.field")


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
        audit(s, actor, "rule.create", f"rule:{r.id}", name=r.name, event=r.event)
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
        audit(s, actor, "rule.update", f"rule:{r.id}", changed=sorted(k for k, v in values.items() if v is not None))
        return r


def delete_rule(rt: Runtime, actor: Actor, rule_id: int) -> None:
    actor.require_admin()
    with rt.db.transaction() as s:
        r = get_rule_in(s, actor, rule_id)
        audit(s, actor, "rule.delete", f"rule:{r.id}", name=r.name)
        s.delete(r)


def rename_label_in(s: Session, workspace_id: int, old: str, new: str) -> list[int]:
    """A label was renamed (services/labels): rules that name it now name the new one, in the same
    transaction, so they keep adding and matching the same label. A rule names it in an ``add_label``
    action, or as the value (or an item of the value list) of a condition on ``conversation.labels`` or
    ``label.name``; compared as labels are, lower-case without outer spaces. A part of a name in a
    ``contains`` ("vip" in "cliente vip") is a word, not the label, and stays. Returns the rules changed."""
    def rename(value: Any) -> Any:
        if isinstance(value, list):
            return [rename(v) for v in value]
        return new if isinstance(value, str) and value.strip().lower() == old else value

    changed = []
    for r in s.scalars(select(TicketRule).where(TicketRule.workspace_id == workspace_id).order_by(TicketRule.id)):
        actions = [{**a, "label": rename(a["label"])} if a.get("type") == "add_label" else a for a in r.actions]
        conditions = [{**c, "value": rename(c.get("value"))} if c.get("field") in LABEL_FIELDS else c
                      for c in r.conditions]
        if actions != r.actions or conditions != r.conditions:
            r.actions, r.conditions = actions, conditions  # new lists: the JSON columns see the change
            changed.append(r.id)
    return changed


def list_rules(rt: Runtime, actor: Actor) -> list[TicketRule]:
    with rt.db.read() as s:
        return list(s.scalars(select(TicketRule).where(TicketRule.workspace_id == actor.workspace_id)
                              .order_by(TicketRule.id)))


def list_runs(rt: Runtime, actor: Actor, rule_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The rule's audit trail, newest first: when it fired, on what, and what each action did."""
    actor.require_admin()
    with rt.db.read() as s:
        get_rule_in(s, actor, rule_id)
        rows = s.scalars(select(AuditLog).where(AuditLog.workspace_id == actor.workspace_id,
                                                AuditLog.action == AUDIT_ACTION, AuditLog.target == f"rule:{rule_id}")
                         .order_by(AuditLog.id.desc()).limit(limit))
        return [{"id": a.id, "at": a.created_at.isoformat(), **(a.data or {})} for a in rows]


# -- evaluation ------------------------------------------------------------------------------------
def _rules_for(s: Session, workspace_id: int, event: str) -> list[TicketRule]:
    return list(s.scalars(select(TicketRule).where(TicketRule.workspace_id == workspace_id,
                                                   TicketRule.event == event, TicketRule.is_active.is_(True))
                          .order_by(TicketRule.id)))


def _context(s: Session, t: Ticket | None, conv: Conversation | None, data: dict[str, Any],
             text: str = "", label: str | None = None) -> dict[str, Any]:
    contact_id = (t.contact_id if t else None) or (conv.contact_id if conv else None)
    contact = s.get(Contact, contact_id) if contact_id else None
    ctx: dict[str, Any] = {
        "status.from": data.get("from"), "status.to": data.get("to"), "sla.target": data.get("target"),
        "contact.language": contact.language if contact else None,
        "conversation.channel_id": conv.channel_id if conv else None,
        "conversation.labels": list(conv.labels or []) if conv else [],
        "message.text": text, "label.name": label,
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


def on_ticket_event_in(s: Session, rt: Runtime | None, t: Ticket, event_type: str, ev: TicketEvent,
                       now: datetime) -> None:
    """Run the workspace's rules for a ticket event, in the caller's transaction. Without ``rt`` (a caller
    that has none) a ``send_template`` action is recorded as not sent."""
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
                _run_on_ticket(s, rt, t, conv, r, now, event_type, ev)
    finally:
        s.info[_GUARD] = False


def _run_on_ticket(s: Session, rt: Runtime | None, t: Ticket, conv: Conversation | None, r: TicketRule,
                   now: datetime, event_type: str, ev: TicketEvent) -> None:
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
        elif kind in ("send_template", "webhook"):
            data = {"ticket": ticket_dict(t), "conversation": _conversation_data(conv)}
            done.append({**a, "result": _outward(s, rt, conv, r, a, event_type, data, key=f"tev-{ev.id}")})
    if done:
        t.updated_at = now
        record(s, t, "rule", now=now, text=r.name, data={"rule_id": r.id, "actions": done},
               event_type="ticket.updated")
        _audit(s, r, now, event_type, done, ticket_id=t.id, conversation_id=conv.id if conv else None)


def _outward(s: Session, rt: Runtime | None, conv: Conversation | None, r: TicketRule, a: dict[str, Any],
             event_type: str, data: dict[str, Any], *, key: str) -> dict[str, Any]:
    """Run a send_template or webhook action; what happened, for the audit."""
    if a["type"] == "send_template":
        if rt is None:
            return {"sent": False, "reason": "no runtime to send with"}
        return send_template_in(s, rt, conv, int(a["template_id"]), key=f"rule-{r.id}-{key}")
    payload = {"rule": {"id": r.id, "name": r.name}, "event": event_type, **data}
    return call_webhook_in(s, r.workspace_id, int(a["webhook_id"]), payload,
                           channel_id=conv.channel_id if conv else None)


def _conversation_data(conv: Conversation | None) -> dict[str, Any] | None:
    from crocevia.services.serialize import conversation_dict

    return conversation_dict(conv) if conv is not None else None


def _audit(s: Session, r: TicketRule, now: datetime, event_type: str, done: list[dict[str, Any]], *,
           ticket_id: int | None, conversation_id: int | None) -> None:
    s.add(AuditLog(workspace_id=r.workspace_id, actor_user_id=None, action=AUDIT_ACTION, target=f"rule:{r.id}",
                   data={"rule_id": r.id, "rule": r.name, "event": event_type, "ticket_id": ticket_id,
                         "conversation_id": conversation_id, "actions": done}, created_at=now))


def _ours(row: Team | User | None, t: Ticket) -> bool:
    """The team or user still exists in the ticket's workspace (it may have gone since the rule was saved)."""
    return row is not None and row.workspace_id == t.workspace_id


def on_message_in(s: Session, rt: Runtime, message_id: int) -> list[int]:
    """``message.received`` rules for one inbound message; the ids of the rules that fired."""
    msg = s.get(Message, message_id)
    conv = s.get(Conversation, msg.conversation_id) if msg is not None else None
    if msg is None or conv is None:
        return []
    return on_conversation_event_in(s, rt, "message.received", conv, msg=msg, key=f"msg-{msg.id}")


def on_label_added_in(s: Session, rt: Runtime, conversation_id: int, label: str, *, key: str) -> list[int]:
    """``conversation.label_added`` rules for one label added to a conversation."""
    conv = s.get(Conversation, conversation_id)
    if conv is None or label not in (conv.labels or []):
        return []  # gone, or the label was removed again before the rules ran
    return on_conversation_event_in(s, rt, "conversation.label_added", conv, label=label, key=key)


def on_conversation_event_in(s: Session, rt: Runtime, event_type: str, conv: Conversation, *,
                             msg: Message | None = None, label: str | None = None, key: str) -> list[int]:
    """Run the rules of a conversation event; ``key`` names the occurrence (a message sent by a rule
    re-run for it is not sent twice). The ids of the rules that fired."""
    rules = _rules_for(s, conv.workspace_id, event_type)
    ctx = _context(s, None, conv, {}, (msg.text or "") if msg else "", label)
    fired: list[int] = []
    for r in rules:
        if all(matches(c, ctx) for c in r.conditions):
            _run_on_conversation(s, rt, event_type, conv, msg, label, r, key)
            fired.append(r.id)
    return fired


def _run_on_conversation(s: Session, rt: Runtime, event_type: str, conv: Conversation, msg: Message | None,
                         label: str | None, r: TicketRule, key: str) -> None:
    from crocevia.services import tickets
    from crocevia.services.events import emit
    from crocevia.services.serialize import message_dict
    from crocevia.services.ticket_common import record, ticket_dict

    now = rt.clock.now()
    actor = Actor.system(conv.workspace_id)
    ticket: Ticket | None = _active_ticket(s, conv)
    done: list[dict[str, Any]] = []
    for a in r.actions:
        if a["type"] == "open_ticket" and ticket is None:
            subject = (msg.text or "").strip()[:300] if msg else ""
            ticket = tickets.create_ticket_in(s, rt, actor, {
                "conversation_id": conv.id, "subject": subject, "priority": a["priority"],
                "type": a["ticket_type"]})
            record(s, ticket, "rule", now=now, text=r.name,
                   data={"rule_id": r.id, "actions": [a], "message_id": msg.id if msg else None,
                         "label": label})
            done.append({**a, "ticket_id": ticket.id})
        elif a["type"] == "add_label" and a["label"].lower() not in (conv.labels or []):
            conv.labels = sorted({*(conv.labels or []), a["label"].strip().lower()})
            done.append(a)
        elif a["type"] == "notify":
            emit(s, "ticket.notification", conv.workspace_id,
                 {"conversation_id": conv.id, "rule_id": r.id, "text": a["text"]}, channel_id=conv.channel_id)
            done.append(a)
        elif a["type"] in ("send_template", "webhook"):
            data = {"conversation": _conversation_data(conv), "message": message_dict(msg) if msg else None,
                    "label": label, "ticket": ticket_dict(ticket) if ticket else None}
            done.append({**a, "result": _outward(s, rt, conv, r, a, event_type, data, key=key)})
    if done:
        _audit(s, r, now, event_type, done, ticket_id=ticket.id if ticket else None, conversation_id=conv.id)


def _active_ticket(s: Session, conv: Conversation) -> Ticket | None:
    """The conversation's open ticket: a second message about it must not open another."""
    linked = select(TicketConversation.ticket_id).where(TicketConversation.conversation_id == conv.id)
    return s.scalar(select(Ticket).where(Ticket.id.in_(linked), Ticket.status.not_in(_DONE))
                    .order_by(Ticket.id.desc()).limit(1))
