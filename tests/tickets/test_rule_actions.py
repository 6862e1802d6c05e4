"""Automation rules that reach outside: "send template" goes through the normal send path (consent,
the 24-hour window, approval, outbox) and "webhook" posts a signed event to the business's URL with
retries; "label added" is an event rules can listen to. Every application is audited."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.conftest import Workspace, api_token, new_workspace

from crocevia.app import build_app
from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import ConsentStatus, MessageKind
from crocevia.errors import NotFound, ValidationFailed
from crocevia.jobs.ticket_jobs import conversation_rules
from crocevia.jobs.webhook_sender import WebhookSender
from crocevia.runtime import Runtime
from crocevia.services import channels, contacts, conversations, templates, ticket_rules, tickets, webhooks_out
from crocevia.services.ingest import ingest
from crocevia.services.ticket_rules_hook import RULES_TASK
from crocevia.storage.tables import Channel, Conversation, Message, Task, Ticket, WebhookDelivery


# -- helpers ---------------------------------------------------------------------------------------
def whatsapp(rt: Runtime, ws: Workspace) -> Channel:
    kit = importlib.import_module("crocevia.channels.whatsapp.testkit")
    return channels.create_channel(rt, ws.owner, kind="whatsapp", name="WhatsApp",
                                   credentials=dict(kit.config().credentials),
                                   settings={"api_base": "http://127.0.0.1:9"})  # nothing is sent in these tests


def customer_writes(rt: Runtime, channel: Channel, text: str, sender: str = "393331234567") -> Message:
    stored = ingest(rt, channel, [InboundMessage(external_message_id=f"wamid.{uuid.uuid4().hex}", sender_id=sender,
                                                 sender_phone=f"+{sender}", sender_name="Mario Rossi",
                                                 kind=MessageKind.TEXT, text=text)]).stored
    with rt.db.read() as s:
        msg = s.get(Message, stored[0])
        assert msg is not None
        return msg


def run_rule_tasks(rt: Runtime, ws: Workspace) -> int:
    """Run the pending ``ticket.rules`` tasks as the task runner would (and leave them pending: a re-run
    is what a retry after a crash looks like)."""
    with rt.db.read() as s:
        pending = list(s.scalars(select(Task).where(Task.workspace_id == ws.id, Task.kind == RULES_TASK)
                                 .order_by(Task.id)))
    for task in pending:
        conversation_rules(rt, task)
    return len(pending)


def outbound(rt: Runtime, conversation_id: int) -> list[Message]:
    with rt.db.read() as s:
        return list(s.scalars(select(Message).where(Message.conversation_id == conversation_id,
                                                    Message.direction == "out").order_by(Message.id)))


def template(rt: Runtime, ws: Workspace, **fields: Any) -> int:
    values = {"name": "listino", "category": "utility", "approval_status": "approved", "provider_name": "listino",
              "variants": {"it": {"text": "Ciao {{first_name}}, ecco il listino."},
                           "en": {"text": "Hi {{first_name}}, here is our price list."}}, **fields}
    return templates.create_template(rt, ws.owner, values).id


# -- send template ---------------------------------------------------------------------------------
def test_a_keyword_sends_the_approved_template_once_and_the_run_is_audited(rt: Runtime, ws: Workspace) -> None:
    channel = whatsapp(rt, ws)
    tpl_id = template(rt, ws)
    rule = ticket_rules.create_rule(rt, ws.owner, {
        "name": "Listino", "event": "message.received",
        "conditions": [{"field": "message.text", "op": "contains", "value": "prezzi"}],
        "actions": [{"type": "send_template", "template_id": tpl_id}]})
    customer_writes(rt, channel, "buongiorno")
    msg = customer_writes(rt, channel, "Quali sono i prezzi?")
    assert run_rule_tasks(rt, ws) == 2  # each message is looked at; only the second matches
    run_rule_tasks(rt, ws)  # a retried task sends nothing more

    sent = outbound(rt, msg.conversation_id)
    assert len(sent) == 1
    assert sent[0].kind == "template" and sent[0].author_type == "bot"
    assert sent[0].content["template"] == {"name": "listino", "language": "it", "parameters": ["Mario"],
                                           "category": "utility"}
    assert sent[0].text == "Ciao Mario, ecco il listino."
    runs = ticket_rules.list_runs(rt, ws.owner, rule.id)  # newest first
    assert {(r["event"], r["conversation_id"]) for r in runs} == {("message.received", msg.conversation_id)}
    assert [r["actions"][0]["result"] for r in runs] == [
        {"sent": True, "message_id": sent[0].id, "repeat": True},  # the retry found the message and said so
        {"sent": True, "message_id": sent[0].id, "via": "template"}]


def test_consent_decides_who_gets_a_template(rt: Runtime, ws: Workspace) -> None:
    channel = whatsapp(rt, ws)
    promo = template(rt, ws, name="promo", category="marketing", provider_name="promo")
    rule = ticket_rules.create_rule(rt, ws.owner, {"name": "Promo", "event": "message.received",
                                                   "actions": [{"type": "send_template", "template_id": promo}]})
    stranger = customer_writes(rt, channel, "ciao", sender="393330000001")
    opted_out = customer_writes(rt, channel, "ciao", sender="393330000002")
    opted_in = customer_writes(rt, channel, "ciao", sender="393330000003")
    with rt.db.read() as s:
        contact_of = {m.id: s.get(Conversation, m.conversation_id).contact_id  # type: ignore[union-attr]
                      for m in (opted_out, opted_in)}
    contacts.set_consent(rt, ws.owner, contact_of[opted_out.id], channel_id=channel.id,
                         status=ConsentStatus.OPTED_OUT)
    contacts.set_consent(rt, ws.owner, contact_of[opted_in.id], channel_id=channel.id, status=ConsentStatus.OPTED_IN)
    run_rule_tasks(rt, ws)

    assert outbound(rt, stranger.conversation_id) == []
    assert outbound(rt, opted_out.conversation_id) == []
    assert [m.kind for m in outbound(rt, opted_in.conversation_id)] == ["template"]
    why = {r["conversation_id"]: r["actions"][0]["result"] for r in ticket_rules.list_runs(rt, ws.owner, rule.id)}
    assert why[stranger.conversation_id]["rule"] == "no_consent"
    assert why[opted_out.conversation_id]["rule"] == "opted_out"
    assert why[opted_in.conversation_id]["sent"] is True


def test_outside_the_24_hour_window_only_an_approved_platform_template_goes(rt: Runtime, ws: Workspace) -> None:
    channel = whatsapp(rt, ws)
    text_only = template(rt, ws, name="solo testo", provider_name=None)
    pending = template(rt, ws, name="in attesa", provider_name="in_attesa", approval_status="pending")
    approved = template(rt, ws, name="approvato", provider_name="approvato")
    ticket_rules.create_rule(rt, ws.owner, {
        "name": "Avvisa", "event": "ticket.status_changed",
        "conditions": [{"field": "status.to", "value": "on_hold"}],
        "actions": [{"type": "send_template", "template_id": text_only},
                    {"type": "send_template", "template_id": pending},
                    {"type": "send_template", "template_id": approved}]})
    msg = customer_writes(rt, channel, "La caldaia non parte")
    t = tickets.create_ticket(rt, ws.owner, {"conversation_id": msg.conversation_id}, notify_customer=False)
    with rt.db.transaction() as s:
        conv = s.get(Conversation, msg.conversation_id)
        assert conv is not None
        conv.last_inbound_at = rt.clock.now() - timedelta(days=2)  # the customer last wrote two days ago
    tickets.set_status(rt, ws.owner, t.id, "on_hold", notify_customer=False)

    sent = outbound(rt, msg.conversation_id)
    assert [(m.kind, m.content["template"]["name"]) for m in sent] == [("template", "approvato")]
    audit = tickets.history(rt, ws.owner, t.id, kind="rule")
    results = [a["result"] for a in audit[0].data["actions"]]
    assert results[0]["sent"] is False and "reply window" in results[0]["reason"]
    assert results[1] == {"sent": False, "reason": "template 'in attesa' is pending, not approved",
                          "rule": "template_not_approved"}
    assert results[2]["sent"] is True and results[2]["message_id"] == sent[0].id


# -- webhook ---------------------------------------------------------------------------------------
class _Crm(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        status = 503 if type(self).fail_first > 0 else 200
        type(self).fail_first -= 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def crm() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Crm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Crm.received, _Crm.fail_first = [], 0
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/crocevia"
    server.shutdown()
    server.server_close()


def test_a_sla_breach_calls_the_business_webhook_signed_and_retries_until_it_answers(
        rt: Runtime, ws: Workspace, crm: str) -> None:
    sub, secret = webhooks_out.create_subscription(rt, ws.owner, url=crm, events=["rule.webhook"], secret=None)
    rule = ticket_rules.create_rule(rt, ws.owner, {
        "name": "Avvisa il CRM", "event": "ticket.status_changed",
        "conditions": [{"field": "status.to", "value": "solved"}],
        "actions": [{"type": "webhook", "webhook_id": sub.id}]})
    t = tickets.create_ticket(rt, ws.owner, {"subject": "Fattura sbagliata"})
    tickets.set_status(rt, ws.owner, t.id, "open")  # not a match: nothing goes out
    tickets.set_status(rt, ws.owner, t.id, "solved")
    _Crm.fail_first = 1
    sender = WebhookSender(rt)
    try:
        assert sender.run_once() == 1
        with rt.db.read() as s:
            first = s.scalar(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id))
            assert first is not None
            assert (first.status, first.attempts, first.last_error) == ("pending", 1, "HTTP 503")
        with rt.db.transaction() as s:  # the backoff has run out
            s.execute(update(WebhookDelivery).where(WebhookDelivery.id == first.id)
                      .values(next_attempt_at=rt.clock.now()))
        assert sender.run_once() == 1
    finally:
        sender.stop()

    with rt.db.read() as s:
        done = s.get(WebhookDelivery, first.id)
        assert done is not None and (done.status, done.attempts) == ("delivered", 2)
    assert len(_Crm.received) == 2
    headers, body = _Crm.received[-1]
    stamp, mac = (p.split("=", 1)[1] for p in headers["x-crocevia-signature"].split(","))
    assert hmac.compare_digest(mac, hmac.new(secret.encode(), f"{stamp}.".encode() + body,
                                             hashlib.sha256).hexdigest())
    event = json.loads(body)
    assert event["type"] == "rule.webhook" and headers["x-crocevia-event"] == "rule.webhook"
    assert event["data"]["rule"] == {"id": rule.id, "name": "Avvisa il CRM"}
    assert event["data"]["event"] == "ticket.status_changed"
    assert (event["data"]["ticket"]["number"], event["data"]["ticket"]["status"]) == (t.number, "solved")
    audit = tickets.history(rt, ws.owner, t.id, kind="rule")
    assert [a.data["actions"][0]["result"]["delivery_id"] for a in audit] == [first.id]
    # The subscription asked only for rule calls: the hub's own ticket events did not go to it.
    with rt.db.read() as s:
        assert s.scalar(select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == sub.id,
                                                         WebhookDelivery.event_type != "rule.webhook")) is None


# -- label added -----------------------------------------------------------------------------------
def test_adding_a_label_runs_label_rules_once_per_addition(rt: Runtime, ws: Workspace) -> None:
    channel = whatsapp(rt, ws)
    msg = customer_writes(rt, channel, "Ho un problema con l'ordine")
    conv_id = msg.conversation_id
    rule = ticket_rules.create_rule(rt, ws.owner, {
        "name": "Reclamo apre un ticket", "event": "conversation.label_added",
        "conditions": [{"field": "label.name", "value": "reclamo"}],
        "actions": [{"type": "open_ticket", "priority": "high", "ticket_type": "complaint"},
                    {"type": "add_label", "label": "priorita"}]})
    conversations.set_labels(rt, ws.owner, conv_id, ["vip"])  # another label: no match
    run_rule_tasks(rt, ws)
    assert ticket_rules.list_runs(rt, ws.owner, rule.id) == []

    conversations.set_labels(rt, ws.owner, conv_id, ["vip", "reclamo"])
    conversations.set_labels(rt, ws.owner, conv_id, ["vip", "reclamo", "altro"])  # reclamo was there already
    run_rule_tasks(rt, ws)
    run_rule_tasks(rt, ws)  # a retry opens no second ticket (the first is active)

    with rt.db.read() as s:
        opened = list(s.scalars(select(Ticket).where(Ticket.workspace_id == ws.id)))
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        labels_looked_at = [t.payload.get("label") for t in s.scalars(select(Task).where(Task.kind == RULES_TASK))]
    # One task per added label; the rule's own label triggers no rules.
    assert labels_looked_at == ["vip", "reclamo", "altro"]
    assert [(t.subject, t.priority, t.type) for t in opened] == [("Ho un problema con l'ordine", "high", "complaint")]
    assert "priorita" in conv.labels
    runs = ticket_rules.list_runs(rt, ws.owner, rule.id)
    assert len(runs) == 1 and runs[0]["ticket_id"] == opened[0].id and runs[0]["event"] == "conversation.label_added"
    assert [e.text for e in tickets.history(rt, ws.owner, opened[0].id, kind="rule")] == ["Reclamo apre un ticket"]


# -- validation ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rule", "field"), [
    ({"event": "conversation.label_added", "actions": [{"type": "set_priority", "priority": "high"}]},
     "actions.0.type"),
    ({"event": "ticket.created", "conditions": [{"field": "label.name", "value": "x"}],
      "actions": [{"type": "notify", "text": "x"}]}, "conditions.0.field"),
    ({"event": "ticket.created", "actions": [{"type": "send_template", "template_id": 0}]},
     "actions.0.send_template.template_id"),
    ({"event": "ticket.created", "actions": [{"type": "webhook"}]}, "actions.0.webhook.webhook_id"),
])
def test_a_bad_rule_names_the_field(rt: Runtime, ws: Workspace, rule: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        ticket_rules.create_rule(rt, ws.owner, {"name": "x", **rule})
    assert err.value.field == field


def test_another_workspaces_template_or_webhook_is_not_found(rt: Runtime, ws: Workspace, crm: str) -> None:
    other = new_workspace(rt)
    theirs = template(rt, other)
    their_hook, _ = webhooks_out.create_subscription(rt, other.owner, url=crm, events=["*"], secret=None)
    for action, field in (({"type": "send_template", "template_id": theirs}, "actions.0.template_id"),
                          ({"type": "webhook", "webhook_id": their_hook.id}, "actions.0.webhook_id")):
        with pytest.raises(NotFound) as err:
            ticket_rules.create_rule(rt, ws.owner, {"name": "x", "event": "ticket.created", "actions": [action]})
        assert err.value.field == field


def test_the_api_lists_a_rules_runs_and_the_audit_keeps_who_changed_the_rule(rt: Runtime, ws: Workspace) -> None:
    with TestClient(build_app(rt.settings, runtime=rt, run_workers=False)) as client:
        client.headers["Authorization"] = f"Bearer {api_token(rt, ws.owner)}"
        made = client.post("/api/v1/ticket-rules", json={
            "name": "Urgenze", "event": "ticket.created",
            "conditions": [{"field": "ticket.subject", "op": "contains", "value": "urgente"}],
            "actions": [{"type": "set_priority", "priority": "urgent"}]})
        assert made.status_code == 201, made.text
        client.post("/api/v1/tickets", json={"subject": "Urgente: niente acqua"}).raise_for_status()
        client.post("/api/v1/tickets", json={"subject": "Domanda"}).raise_for_status()
        runs = client.get(f"/api/v1/ticket-rules/{made.json()['id']}/runs")
        assert runs.status_code == 200
        assert [(r["event"], r["actions"]) for r in runs.json()] == [
            ("ticket.created", [{"type": "set_priority", "priority": "urgent"}])]
        missing = client.get("/api/v1/ticket-rules/999999/runs")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
