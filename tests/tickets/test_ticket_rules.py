"""Automation rules on tickets: when an event happens and the conditions hold, the actions run in
the same transaction and the ticket's history says which rule did what."""

from __future__ import annotations

import threading

import httpx
import pytest
from tests.conftest import Hub, Workspace, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for
from tests.tickets.test_sla import FRIDAY_1755, WEEKDAYS_9_18, rome

from crocevia.clock import FakeClock
from crocevia.errors import NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import sla, ticket_rules, tickets
from crocevia.services.accounts import create_team
from crocevia.services.ticket_demo import seed_tickets
from crocevia.storage.tables import Ticket


def test_a_rule_on_created_raises_priority_and_assigns_a_team_and_is_audited(rt: Runtime, ws: Workspace) -> None:
    team = create_team(rt, ws.owner, name="Guasti", member_ids=[])
    ticket_rules.create_rule(rt, ws.owner, {
        "name": "Guasti urgenti", "event": "ticket.created",
        "conditions": [{"field": "ticket.subject", "op": "contains", "value": "GUASTO"},
                       {"field": "ticket.type", "op": "in", "value": ["incident", "problem"]}],
        "actions": [{"type": "set_priority", "priority": "urgent"}, {"type": "assign_team", "team_id": team.id}]})
    hit = tickets.create_ticket(rt, ws.owner, {"subject": "Guasto alla caldaia", "type": "incident"})
    miss = tickets.create_ticket(rt, ws.owner, {"subject": "Guasto alla caldaia", "type": "question"})

    seen = tickets.get_ticket(rt, ws.owner, hit.id)
    assert (seen.priority, seen.team_id) == ("urgent", team.id)
    audit = tickets.history(rt, ws.owner, hit.id, kind="rule")
    assert [(e.text, [a["type"] for a in e.data["actions"]]) for e in audit] == [
        ("Guasti urgenti", ["set_priority", "assign_team"])]
    untouched = tickets.get_ticket(rt, ws.owner, miss.id)
    assert (untouched.priority, untouched.team_id) == ("normal", None)
    assert tickets.history(rt, ws.owner, miss.id, kind="rule") == []


def test_a_breach_rule_reassigns_the_ticket_at_the_breach_not_before(rt: Runtime, ws: Workspace) -> None:
    rt.clock = clock = FakeClock(FRIDAY_1755)
    sla.create_policy(rt, ws.owner, {"name": "Standard", "first_response_minutes": 60, "warn_minutes": 0,
                                     "timezone": "Europe/Rome",
                                     "business_hours": WEEKDAYS_9_18})
    second_line = create_team(rt, ws.owner, name="Secondo livello", member_ids=[])
    ticket_rules.create_rule(rt, ws.owner, {
        "name": "Escalation", "event": "ticket.sla_breached",
        "conditions": [{"field": "sla.target", "value": "first_response"}],
        "actions": [{"type": "assign_team", "team_id": second_line.id}, {"type": "notify", "text": "SLA violato"}]})
    t = tickets.create_ticket(rt, ws.owner, {"subject": "Non funziona"})
    clock.set(rome(23, 9, 54))
    assert sla.check_due(rt) == []
    assert tickets.get_ticket(rt, ws.owner, t.id).team_id is None  # not before the breach
    clock.set(rome(23, 9, 55))
    assert sla.check_due(rt) == [(t.number, "first_response.breached")]
    assert tickets.get_ticket(rt, ws.owner, t.id).team_id == second_line.id
    assert [e.text for e in tickets.history(rt, ws.owner, t.id, kind="rule")] == ["Escalation"]


def test_a_rules_own_change_does_not_trigger_rules_again(rt: Runtime, ws: Workspace) -> None:
    # Each rule would undo the other forever if a rule's change fired ticket.updated rules.
    ticket_rules.create_rule(rt, ws.owner, {"name": "Su", "event": "ticket.updated", "actions": [
        {"type": "set_priority", "priority": "high"}]})
    ticket_rules.create_rule(rt, ws.owner, {"name": "Giù", "event": "ticket.updated", "actions": [
        {"type": "set_priority", "priority": "low"}]})
    t = tickets.create_ticket(rt, ws.owner, {"subject": "Ping-pong"})
    tickets.update_ticket(rt, ws.owner, t.id, {"description": "altro"})
    assert tickets.get_ticket(rt, ws.owner, t.id).priority == "low"  # both ran once, in order
    assert [e.text for e in tickets.history(rt, ws.owner, t.id, kind="rule")] == ["Su", "Giù"]


@pytest.mark.parametrize(("rule", "field"), [
    ({"name": "x", "event": "ticket.exploded", "actions": [{"type": "notify", "text": "x"}]}, "event"),
    ({"name": "x", "event": "ticket.created", "actions": []}, "actions"),
    ({"name": "x", "event": "ticket.created", "actions": [{"type": "set_priority", "priority": "asap"}]},
     "actions.0.set_priority.priority"),
    ({"name": "x", "event": "ticket.created", "actions": [{"type": "open_ticket"}]}, "actions.0.type"),
    ({"name": "x", "event": "ticket.created", "conditions": [{"field": "ticket.colour", "value": "red"}],
      "actions": [{"type": "notify", "text": "x"}]}, "conditions.0.field"),
    ({"name": "x", "event": "ticket.created", "conditions": [{"field": "ticket.type", "op": "in", "value": "a"}],
      "actions": [{"type": "notify", "text": "x"}]}, "conditions.0.value"),
])
def test_a_bad_rule_is_refused_naming_the_field(rt: Runtime, ws: Workspace, rule: dict[str, object],
                                                field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        ticket_rules.create_rule(rt, ws.owner, rule)
    assert err.value.field == field


def test_a_team_of_another_workspace_is_not_found(rt: Runtime, ws: Workspace) -> None:
    other = new_workspace(rt)
    their_team = create_team(rt, other.owner, name="Loro", member_ids=[])
    with pytest.raises(NotFound) as err:
        ticket_rules.create_rule(rt, ws.owner, {"name": "x", "event": "ticket.created", "actions": [
            {"type": "assign_team", "team_id": their_team.id}]})
    assert err.value.field == "actions.0.team_id"


def test_the_api_answers_a_bad_rule_with_problem_json_naming_the_field(hub: Hub) -> None:
    w = new_workspace(hub.rt)
    api = hub.client(api_token(hub.rt, w.owner))
    resp = api.post("/api/v1/ticket-rules", json={"name": "x", "event": "ticket.created",
                                                  "actions": [{"type": "open_ticket"}]})
    assert resp.status_code == 400 and resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["field"] == "actions.0.type"
    resp = api.post("/api/v1/ticket-rules", json={"name": "x", "event": "ticket.created",
                                                  "actions": [{"type": "teleport"}]})
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["field"].startswith("actions.0"), resp.text


def test_a_keyword_from_the_customer_opens_one_ticket_from_the_conversation(hub: Hub, emu: httpx.Client,
                                                                           emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    resp = api.post("/api/v1/ticket-rules", json={
        "name": "Guasto apre un ticket", "event": "message.received",
        "conditions": [{"field": "message.text", "op": "contains", "value": "guasto"}],
        "actions": [{"type": "open_ticket", "priority": "high", "ticket_type": "incident"},
                    {"type": "add_label", "label": "assistenza"}]})
    assert resp.status_code == 201, resp.text
    post_inbound(hub, channel, [text_event("k-0", "Buongiorno, vorrei un'informazione")])
    post_inbound(hub, channel, [text_event("k-1", "C'è un guasto alla lavatrice")])
    found = wait_for(lambda: api.get("/api/v1/tickets").json()["items"], timeout=20, what="a ticket to open")
    post_inbound(hub, channel, [text_event("k-2", "Il guasto c'è ancora")])
    conv = api.get("/api/v1/conversations").json()["items"][0]
    wait_for(lambda: len(api.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"]) >= 4,
             timeout=20, what="the third message and the ticket notice")

    assert len(found) == 1
    t = found[0]
    assert (t["subject"], t["priority"], t["type"]) == ("C'è un guasto alla lavatrice", "high", "incident")
    assert "assistenza" in api.get(f"/api/v1/conversations/{conv['id']}").json()["labels"]
    history = api.get(f"/api/v1/tickets/{t['id']}/events").json()
    assert [e["text"] for e in history if e["kind"] == "rule"] == ["Guasto apre un ticket"]
    # The second message about the same problem found the ticket open: still one ticket.
    assert len(api.get("/api/v1/tickets", params={"status": "active"}).json()["items"]) == 1


def test_two_tickets_created_at_once_get_distinct_numbers(rt: Runtime, ws: Workspace) -> None:
    barrier = threading.Barrier(2)
    made: list[Ticket] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            made.append(tickets.create_ticket(rt, ws.owner, {"subject": f"Insieme {i}"}))
        except BaseException as exc:  # reported below, with the test's own assertion
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert errors == []
    assert sorted(t.number for t in made) == [1, 2]


def test_the_demo_workspace_has_a_rule_that_opens_tickets_on_a_fault(rt: Runtime, ws: Workspace) -> None:
    seed_tickets(rt, ws.owner, agent_id=int(ws.owner.user_id or 0))
    assert [(r.name, r.event) for r in ticket_rules.list_rules(rt, ws.owner)] == [
        ("Un guasto apre un ticket", "message.received")]
