"""Renaming a label renames it inside the automation rules that name it (issue 5), so they keep
adding and matching the same label; words of a text and other workspaces' rules are left alone."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from tests.api.support import Api, create_channel, receive
from tests.conftest import api_token, new_workspace

from crocevia.runtime import Runtime
from crocevia.services import ticket_rules

CONVS = "/api/v1/conversations"
RULES = "/api/v1/ticket-rules"


def _workspace(rt: Runtime, http: TestClient) -> Api:
    return Api(http, api_token(rt, new_workspace(rt, slug=f"rules-{uuid.uuid4().hex[:8]}").owner))


def _rule(api: Api, name: str, event: str, conditions: list[dict[str, Any]], actions: list[dict[str, Any]]) -> int:
    made: dict[str, Any] = api.ok("POST", RULES, 201, json={"name": name, "event": event, "conditions": conditions,
                                                            "actions": actions})
    return int(made["id"])


def test_renaming_a_label_renames_it_in_the_rules_that_name_it(rt: Runtime, http: TestClient) -> None:
    owner, stranger = _workspace(rt, http), _workspace(rt, http)
    conv = receive(owner, create_channel(owner), "Ho un problema", "+393335000001", "Rosa Reclami")
    owner.ok("PUT", f"{CONVS}/{conv['id']}/labels", json={"labels": ["reclamo"]})
    label = next(lbl for lbl in owner.ok("GET", "/api/v1/labels") if lbl["name"] == "reclamo")

    escalate = _rule(owner, "Reclamo urgente", "conversation.label_added",
                     [{"field": "label.name", "op": "eq", "value": "Reclamo"}],  # typed as people type
                     [{"type": "add_label", "label": "urgente"}])
    either = _rule(owner, "Reclamo o VIP", "conversation.label_added",
                   [{"field": "label.name", "op": "in", "value": ["reclamo", "vip"]}],
                   [{"type": "notify", "text": "Attenzione"}])
    priority = _rule(owner, "Priorità reclami", "ticket.created",
                     [{"field": "conversation.labels", "op": "contains", "value": "reclamo"}],
                     [{"type": "set_priority", "priority": "high"}])
    tagger = _rule(owner, "Parole di reclamo", "message.received",
                   [{"field": "message.text", "op": "contains", "value": "reclamo"}],  # a word, not a label
                   [{"type": "add_label", "label": "Reclamo"}])
    partial = _rule(owner, "Qualcosa di clam", "conversation.label_added",
                    [{"field": "label.name", "op": "contains", "value": "clam"}],  # part of a name
                    [{"type": "notify", "text": "clam"}])
    elsewhere = _rule(stranger, "Altrove", "message.received", [], [{"type": "add_label", "label": "reclamo"}])

    owner.ok("PATCH", f"/api/v1/labels/{label['id']}", json={"name": "Lamentela"})

    rules = {r["id"]: r for r in owner.ok("GET", RULES)}
    assert rules[escalate]["conditions"] == [{"field": "label.name", "op": "eq", "value": "lamentela"}]
    assert rules[either]["conditions"][0]["value"] == ["lamentela", "vip"]
    assert rules[priority]["conditions"][0]["value"] == "lamentela"
    assert rules[tagger]["conditions"][0]["value"] == "reclamo"
    assert rules[tagger]["actions"] == [{"type": "add_label", "label": "lamentela"}]
    assert rules[partial]["conditions"][0]["value"] == "clam"
    assert rules[partial]["actions"] == [{"type": "notify", "text": "clam"}]
    assert rules[escalate]["actions"] == [{"type": "add_label", "label": "urgente"}]
    assert next(r for r in stranger.ok("GET", RULES) if r["id"] == elsewhere)["actions"][0]["label"] == "reclamo"

    # The conversation carries the new name, and the renamed rule fires on it.
    assert owner.ok("GET", f"{CONVS}/{conv['id']}")["labels"] == ["lamentela"]
    with rt.db.transaction() as s:
        ticket_rules.on_label_added_in(s, rt, conv["id"], "lamentela", key="test-rename")
    assert owner.ok("GET", f"{CONVS}/{conv['id']}")["labels"] == ["lamentela", "urgente"]
    # A recolour alone touches no rule.
    owner.ok("PATCH", f"/api/v1/labels/{label['id']}", json={"color": "#112233"})
    assert {r["id"]: r for r in owner.ok("GET", RULES)}[escalate]["conditions"][0]["value"] == "lamentela"
