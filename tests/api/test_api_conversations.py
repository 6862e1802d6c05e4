"""Conversations through the API: the inbox filters and paging, assignment, status, labels, notes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.support import (
    Api,
    Seeded,
    add_user,
    assert_problem,
    create_channel,
    post_inbound,
    receive,
    seed_workspace,
    text_event,
)

from crocevia.runtime import Runtime
from crocevia.services import conversations

CONVS = "/api/v1/conversations"


@pytest.fixture
def seeded(rt: Runtime, http: TestClient) -> Seeded:
    return seed_workspace(rt, http, "Conv")


def ids(api: Api, **params: Any) -> list[int]:
    return [c["id"] for c in api.ok("GET", CONVS, params=params)["items"]]


def test_inbox_filters(seeded: Seeded) -> None:
    owner, agent = seeded.owner, seeded.agent
    mine = seeded.conversation["id"]  # assigned to the agent, in his team, labelled
    invoice = receive(owner, seeded.channel, "Mi mandate la fattura 2024-117?", "+393330000001", "Bruno Fattura")
    other_channel = create_channel(owner, name="Negozio")
    elsewhere = receive(owner, other_channel, "Orari di apertura?", "+393330000002", "Carla Orari")
    owner.ok("POST", f"{CONVS}/{elsewhere['id']}/status", json={"status": "resolved"})
    urgent = receive(owner, seeded.channel, "Aiuto!", "+393330000003", "Dario Urgente")
    owner.ok("PUT", f"{CONVS}/{urgent['id']}/labels", json={"labels": ["Urgente"]})
    everything = {mine, invoice["id"], elsewhere["id"], urgent["id"]}

    assert set(ids(owner)) == everything
    assert ids(agent, assignee="mine") == [mine]
    assert ids(owner, assignee="mine") == []
    assert set(ids(owner, assignee="unassigned")) == everything - {mine}
    assert ids(owner, status="resolved") == [elsewhere["id"]]
    assert set(ids(owner, status="open")) == everything - {elsewhere["id"]}
    assert ids(owner, channel_id=other_channel["id"]) == [elsewhere["id"]]
    assert ids(owner, label="urgente") == [urgent["id"]]
    assert ids(owner, team_id=seeded.team_id) == [mine]
    assert ids(owner, contact_id=invoice["contact"]["id"]) == [invoice["id"]]
    # q looks in what customers wrote and in who they are.
    assert ids(owner, q="fattura 2024-117") == [invoice["id"]]
    assert ids(owner, q="FATTURA") == [invoice["id"]]
    assert ids(owner, q="carla") == [elsewhere["id"]]
    assert ids(owner, q="+393330000003") == [urgent["id"]]
    assert ids(owner, q="nessun risultato") == []
    # Filters combine.
    assert ids(owner, status="open", channel_id=seeded.channel["id"], q="aiuto") == [urgent["id"]]
    # The agent only ever sees his inbox's conversations, whatever he asks for.
    assert set(ids(agent)) == everything - {elsewhere["id"]}
    assert ids(agent, channel_id=other_channel["id"]) == []

    assert_problem(owner.get(CONVS, params={"assignee": "qualcuno"}), 400, "assignee")
    assert_problem(owner.get(CONVS, params={"status": "chiuso"}), 400, "status")
    assert_problem(owner.get(CONVS, params={"cursor": "non-un-cursore"}), 400, "cursor")
    assert_problem(owner.get(CONVS, params={"channel_id": "uno"}), 422, "channel_id")


def test_keyset_pagination_is_stable_while_messages_arrive(rt: Runtime, http: TestClient) -> None:
    seeded = seed_workspace(rt, http, "Pagine")
    owner = seeded.owner
    for i in range(11):
        receive(owner, seeded.channel, f"Messaggio {i}", f"+3933300001{i:02d}", f"Cliente {i:02d}")
    at_start = ids(owner, limit=200)
    assert len(at_start) == 12

    seen: list[int] = []
    cursor = None
    for page_no in range(20):
        page = owner.ok("GET", CONVS, params={"limit": 5, **({"cursor": cursor} if cursor else {})})
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # Meanwhile customers keep writing: into a conversation already shown (it jumps to the
        # top) and as brand-new conversations. Neither may repeat or hide a row on later pages.
        first_seen = owner.ok("GET", f"{CONVS}/{seen[0]}")["contact"]
        post_inbound(owner.http, seeded.channel["public_id"],
                     [text_event(f"altro-{page_no}", "Ci sono novità?", first_seen["phone"], first_seen["name"])])
        receive(owner, seeded.channel, "Sono nuovo", f"+3934700002{page_no:02d}", f"Nuovo {page_no:02d}")
    assert len(seen) == len(set(seen)), "a conversation was listed twice"
    assert set(seen) == set(at_start), "a conversation was skipped"
    assert seen == at_start  # and in the order they had when paging began

    # Afterwards a fresh listing holds everyone, newest activity first.
    now = owner.ok("GET", CONVS, params={"limit": 200})["items"]
    assert set(at_start) < {c["id"] for c in now}
    assert now[0]["contact"]["name"].startswith("Nuovo")
    stamps = [c["last_activity_at"] for c in now]
    assert stamps == sorted(stamps, reverse=True)


def test_assignment_needs_an_active_member_of_the_inbox(rt: Runtime, seeded: Seeded) -> None:
    owner, conv = seeded.owner, f"{CONVS}/{seeded.conversation['id']}"
    outsider_id, _ = add_user(rt, owner, "agent", "Ettore Esterno", f"esterno@{seeded.marker.lower()}.test")
    body = assert_problem(owner.post(f"{conv}/assign", json={"assignee_id": outsider_id}), 400, "assignee_id")
    assert "member" in body["detail"]
    viewer = owner.ok("POST", "/api/v1/users", 201, json={"email": f"v@{seeded.marker.lower()}.test",
                                                          "name": "Vittoria", "role": "viewer",
                                                          "password": "password-123"})
    owner.ok("PUT", f"/api/v1/channels/{seeded.channel['id']}/members",
             json={"user_ids": [seeded.agent_id, outsider_id, viewer["id"]]})
    assert_problem(owner.post(f"{conv}/assign", json={"assignee_id": viewer["id"]}), 400, "assignee_id")
    assert owner.ok("POST", f"{conv}/assign", json={"assignee_id": outsider_id})["assignee_id"] == outsider_id
    owner.ok("PATCH", f"/api/v1/users/{seeded.agent_id}", json={"is_active": False})
    assert_problem(owner.post(f"{conv}/assign", json={"assignee_id": seeded.agent_id}), 400, "assignee_id")
    unassigned = owner.ok("POST", f"{conv}/assign", json={"assignee_id": None})
    assert unassigned["assignee_id"] is None
    assert_problem(owner.post(f"{conv}/assign", json={}), 422, "assignee_id")


def test_status_and_snooze(seeded: Seeded) -> None:
    owner, conv = seeded.owner, f"{CONVS}/{seeded.conversation['id']}"
    assert_problem(owner.post(f"{conv}/status", json={"status": "snoozed"}), 400, "snoozed_until")
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert_problem(owner.post(f"{conv}/status", json={"status": "snoozed", "snoozed_until": past}), 400,
                   "snoozed_until")
    # A time without a zone is ambiguous for a team across time zones: refused, naming the field.
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert_problem(owner.post(f"{conv}/status", json={"status": "snoozed", "snoozed_until": naive}), 422,
                   "snoozed_until")
    assert_problem(owner.post(f"{conv}/status", json={"status": "chiuso"}), 422, "status")
    assert owner.ok("GET", conv)["status"] == "open"

    until = datetime.now(UTC) + timedelta(hours=3)
    snoozed = owner.ok("POST", f"{conv}/status", json={"status": "snoozed", "snoozed_until": until.isoformat()})
    assert snoozed["status"] == "snoozed"
    assert datetime.fromisoformat(snoozed["snoozed_until"]) == until
    assert ids(owner, status="snoozed") == [seeded.conversation["id"]]
    # The customer writes again: the conversation wakes up.
    phone = owner.ok("GET", conv)["contact"]["phone"]
    post_inbound(owner.http, seeded.channel["public_id"], [text_event("sveglia", "Ci siete?", phone)])
    woken = owner.ok("GET", conv)
    assert (woken["status"], woken["snoozed_until"]) == ("open", None)

    resolved = owner.ok("POST", f"{conv}/status", json={"status": "resolved"})
    assert (resolved["status"], resolved["snoozed_until"]) == ("resolved", None)


def test_labels_are_normalised_and_validated(seeded: Seeded) -> None:
    owner, conv = seeded.owner, f"{CONVS}/{seeded.conversation['id']}"
    labelled = owner.ok("PUT", f"{conv}/labels", json={"labels": ["Urgente", " fattura ", "urgente", ""]})
    assert labelled["labels"] == ["fattura", "urgente"]
    assert_problem(owner.put(f"{conv}/labels", json={"labels": ["<script>"]}), 400, "labels")
    assert_problem(owner.put(f"{conv}/labels", json={"labels": "urgente"}), 422, "labels")
    assert owner.ok("GET", conv)["labels"] == ["fattura", "urgente"]
    assert owner.ok("PUT", f"{conv}/labels", json={"labels": []})["labels"] == []


@pytest.mark.timeout(60)
def test_notes_with_mentions_notify_the_mentioned_agent_live(http: TestClient, seeded: Seeded) -> None:
    conv = f"{CONVS}/{seeded.conversation['id']}"
    with http.websocket_connect(f"/api/v1/live?token={seeded.agent.token}") as live:
        assert json.loads(live.receive_text())["type"] == "hello"
        note = seeded.owner.ok("POST", f"{conv}/notes", 201,
                               json={"text": "@agente puoi richiamare il cliente? cc @nessuno"})
        assert note["mentions"] == [seeded.agent_id]
        # A second note without mentions marks the end of what we wait for.
        seeded.owner.ok("POST", f"{conv}/notes", 201, json={"text": "fine"})
        events = []
        for _ in range(20):
            event = json.loads(live.receive_text())
            events.append(event)
            if event["type"] == "note.created" and event["data"]["text"] == "fine":
                break
    mentions = [e for e in events if e["type"] == "user.mentioned"]
    assert [(e["data"]["user_id"], e["data"]["note_id"]) for e in mentions] == [(seeded.agent_id, note["id"])]
    texts = [n["text"] for n in seeded.agent.ok("GET", f"{conv}/notes")]
    assert texts[-2:] == ["@agente puoi richiamare il cliente? cc @nessuno", "fine"]
    assert_problem(seeded.owner.post(f"{conv}/notes", json={"text": "   "}), 400, "text")


def test_mentions_only_reach_people_of_the_same_workspace(rt: Runtime, http: TestClient, seeded: Seeded) -> None:
    other = seed_workspace(rt, http, "Altrove")  # has its own "agente@..." user
    note = seeded.owner.ok("POST", f"{CONVS}/{seeded.conversation['id']}/notes", 201,
                           json={"text": f"@agente e @agente@{other.marker.lower()}.test"})
    assert note["mentions"] == [seeded.agent_id]


def test_messages_list_newest_first_with_paging_and_replies(seeded: Seeded) -> None:
    owner, conv_id = seeded.owner, seeded.conversation["id"]
    phone = owner.ok("GET", f"{CONVS}/{conv_id}")["contact"]["phone"]
    # The seed's own messages (its first exchange, the ticket-opened update to the customer...).
    before = len(owner.ok("GET", f"{CONVS}/{conv_id}/messages", params={"limit": 50})["items"])
    for i in range(4):
        post_inbound(owner.http, seeded.channel["public_id"], [text_event(f"m-{i}", f"domanda {i}", phone)])
    reply = owner.ok("POST", f"{CONVS}/{conv_id}/messages", 202, json={"text": "risposta"})
    assert (reply["direction"], reply["status"], reply["author_user_id"]) == ("out", "queued",
                                                                               seeded.ws.owner.user_id)
    first = owner.ok("GET", f"{CONVS}/{conv_id}/messages", params={"limit": 3})
    assert [m["text"] for m in first["items"]] == ["risposta", "domanda 3", "domanda 2"]
    rest = owner.ok("GET", f"{CONVS}/{conv_id}/messages", params={"limit": 50, "before": first["next_cursor"]})
    assert [m["text"] for m in rest["items"]][:2] == ["domanda 1", "domanda 0"]
    assert rest["next_cursor"] is None
    all_ids = [m["id"] for m in first["items"] + rest["items"]]
    assert before >= 2 and len(all_ids) == len(set(all_ids)) == before + 5  # and 4 in + 1 out here
    assert owner.ok("GET", f"/api/v1/messages/{reply['id']}")["text"] == "risposta"
    assert_problem(owner.post(f"{CONVS}/{conv_id}/messages", json={"text": "   "}), 400, "text")
    conv = owner.ok("GET", f"{CONVS}/{conv_id}")
    assert conv["unread_count"] == 0 and conv["last_message_preview"] == "risposta"


@pytest.mark.parametrize("batch", [4, 500])
def test_label_filter_finds_a_label_far_down_the_inbox(rt: Runtime, http: TestClient,
                                                       monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    # The filter reads the inbox in batches: small ones make it cross many batch boundaries.
    monkeypatch.setattr(conversations, "FILTER_BATCH", batch)
    seeded = seed_workspace(rt, http, "Etichette")  # its conversation carries the label, and is the oldest
    for i in range(22):
        receive(seeded.owner, seeded.channel, "ciao", f"+3934800003{i:02d}", f"Recente {i:02d}")
    label = seeded.marker.lower()
    found: list[int] = []
    cursor = None
    for _ in range(30):
        page = seeded.owner.ok("GET", CONVS, params={"label": label, "limit": 1,
                                                     **({"cursor": cursor} if cursor else {})})
        found += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert found == [seeded.conversation["id"]]


@pytest.mark.timeout(60)
def test_a_new_customers_name_reaches_only_the_agents_of_their_inbox_live(http: TestClient, seeded: Seeded) -> None:
    private = create_channel(seeded.owner, name="Inbox riservata")  # the agent is not a member
    with http.websocket_connect(f"/api/v1/live?token={seeded.agent.token}") as live:
        assert json.loads(live.receive_text())["type"] == "hello"
        receive(seeded.owner, private, "Salve", "+393339990001", "Cliente Riservato")
        receive(seeded.owner, seeded.channel, "Buonasera", "+393339990002", "Cliente Visibile")
        names = []
        for _ in range(20):
            event = json.loads(live.receive_text())
            if event["type"] == "contact.created":
                names.append(event["data"]["name"])
            if event["type"] == "message.created" and event["data"]["message"]["text"] == "Buonasera":
                break
    assert names == ["Cliente Visibile"]
