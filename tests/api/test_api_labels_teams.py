"""The labels catalogue and team editing through the API (issue 5): what an admin changes shows on
the conversations that carry the label or the team; agents read but cannot change; bad input names
the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.api.support import Seeded, add_user, assert_problem, receive, seed_workspace

from crocevia.runtime import Runtime

CONVS = "/api/v1/conversations"


@pytest.fixture
def seeded(rt: Runtime, http: TestClient) -> Seeded:
    return seed_workspace(rt, http, "Lab")


def _labels_of(seeded: Seeded, conv_id: int) -> list[str]:
    labels: list[str] = seeded.owner.ok("GET", f"{CONVS}/{conv_id}")["labels"]
    return labels


def test_a_label_typed_on_a_conversation_joins_the_catalogue_with_a_colour(seeded: Seeded) -> None:
    owner = seeded.owner
    conv = receive(owner, seeded.channel, "Voglio un rimborso", "+393330000101", "Rita Rimborso")
    owner.ok("PUT", f"{CONVS}/{conv['id']}/labels", json={"labels": ["Reclamo ", "VIP"]})
    catalogue = {lbl["name"]: lbl for lbl in owner.ok("GET", "/api/v1/labels")}
    assert {"reclamo", "vip", seeded.marker.lower()} <= set(catalogue)
    assert all(lbl["color"].startswith("#") and len(lbl["color"]) == 7 for lbl in catalogue.values())
    counted = {lbl["name"]: lbl["conversations"] for lbl in owner.ok("GET", "/api/v1/labels?with_counts=true")}
    assert counted["vip"] == 1 and counted[seeded.marker.lower()] == 1


def test_renaming_a_label_renames_it_on_every_conversation(seeded: Seeded) -> None:
    owner = seeded.owner
    first = receive(owner, seeded.channel, "Prima", "+393330000201", "Primo Cliente")
    second = receive(owner, seeded.channel, "Seconda", "+393330000202", "Seconda Cliente")
    untouched = receive(owner, seeded.channel, "Terza", "+393330000203", "Terzo Cliente")
    owner.ok("PUT", f"{CONVS}/{first['id']}/labels", json={"labels": ["caffè", "ordine"]})
    owner.ok("PUT", f"{CONVS}/{second['id']}/labels", json={"labels": ["caffè", "oro"]})
    owner.ok("PUT", f"{CONVS}/{untouched['id']}/labels", json={"labels": ["caffè macchiato"]})
    cafe = next(lbl for lbl in owner.ok("GET", "/api/v1/labels") if lbl["name"] == "caffè")

    assert_problem(owner.patch(f"/api/v1/labels/{cafe['id']}", json={"name": "Oro"}), 409, "name")  # taken
    assert _labels_of(seeded, first["id"]) == ["caffè", "ordine"]  # a refused rename changed nothing
    oro = next(lbl for lbl in owner.ok("GET", "/api/v1/labels") if lbl["name"] == "oro")
    owner.ok("DELETE", f"/api/v1/labels/{oro['id']}", 204)  # free the name, then rename
    renamed = owner.ok("PATCH", f"/api/v1/labels/{cafe['id']}", json={"name": "Oro", "color": "#FF0000"})
    assert (renamed["name"], renamed["color"]) == ("oro", "#ff0000")

    assert _labels_of(seeded, first["id"]) == ["ordine", "oro"]
    assert _labels_of(seeded, second["id"]) == ["oro"]
    assert _labels_of(seeded, untouched["id"]) == ["caffè macchiato"]  # a longer name is another label
    assert [c["id"] for c in owner.ok("GET", CONVS, params={"label": "oro"})["items"]] == [second["id"], first["id"]]
    assert owner.ok("GET", CONVS, params={"label": "caffè"})["items"] == []


def test_deleting_a_label_takes_it_off_every_conversation(seeded: Seeded) -> None:
    owner = seeded.owner
    conv = receive(owner, seeded.channel, "Ciao", "+393330000301", "Delia Delete")
    owner.ok("PUT", f"{CONVS}/{conv['id']}/labels", json={"labels": ["spam", "nuovo"]})
    spam = next(lbl for lbl in owner.ok("GET", "/api/v1/labels") if lbl["name"] == "spam")
    owner.ok("DELETE", f"/api/v1/labels/{spam['id']}", 204)
    assert _labels_of(seeded, conv["id"]) == ["nuovo"]
    assert "spam" not in {lbl["name"] for lbl in owner.ok("GET", "/api/v1/labels")}
    assert_problem(owner.delete(f"/api/v1/labels/{spam['id']}"), 404)


def test_labels_are_admin_work_and_bad_input_names_the_field(seeded: Seeded) -> None:
    owner, agent = seeded.owner, seeded.agent
    assert {lbl["name"] for lbl in agent.ok("GET", "/api/v1/labels")} >= {seeded.marker.lower()}
    assert_problem(agent.post("/api/v1/labels", json={"name": "mio"}), 403)
    label_id = seeded.ids["label_id"]
    assert_problem(agent.patch(f"/api/v1/labels/{label_id}", json={"color": "#000000"}), 403)
    assert_problem(agent.delete(f"/api/v1/labels/{label_id}"), 403)

    assert_problem(owner.post("/api/v1/labels", json={"name": "a<b>"}), 400, "name")
    assert_problem(owner.post("/api/v1/labels", json={"name": "x" * 41}), 400, "name")
    assert_problem(owner.post("/api/v1/labels", json={"name": "ok", "color": "red"}), 400, "color")
    assert_problem(owner.post("/api/v1/labels", json={"name": "ok", "description": "d" * 201}), 400, "description")
    assert_problem(owner.post("/api/v1/labels", json={"name": seeded.marker.upper()}), 409, "name")
    made = owner.ok("POST", "/api/v1/labels", 201, json={"name": "Urgente", "color": "#DC2626",
                                                         "description": "rispondere entro un'ora"})
    assert (made["name"], made["color"], made["description"]) == ("urgente", "#dc2626", "rispondere entro un'ora")
    assert_problem(owner.put(f"{CONVS}/{seeded.conversation['id']}/labels", json={"labels": ["no;pe"]}), 400,
                   "labels")


def test_a_team_is_renamed_its_members_replaced_and_deleted(rt: Runtime, seeded: Seeded) -> None:
    owner = seeded.owner
    team_id = seeded.team_id
    carla_id, _ = add_user(rt, owner, "agent", "Carla Conti", f"carla@{seeded.marker.lower()}.test")
    changed = owner.ok("PATCH", f"/api/v1/teams/{team_id}",
                       json={"name": " Vendite ", "member_ids": [carla_id, carla_id]})
    assert changed == {"id": team_id, "name": "Vendite", "member_ids": [carla_id]}
    assert owner.ok("PATCH", f"/api/v1/teams/{team_id}", json={"member_ids": []})["member_ids"] == []
    assert next(t for t in owner.ok("GET", "/api/v1/teams") if t["id"] == team_id)["name"] == "Vendite"

    other = owner.ok("POST", "/api/v1/teams", 201, json={"name": "Assistenza"})
    assert_problem(owner.patch(f"/api/v1/teams/{other['id']}", json={"name": "Vendite"}), 409, "name")
    assert_problem(owner.patch(f"/api/v1/teams/{other['id']}", json={"name": "  "}), 400, "name")
    assert_problem(owner.patch(f"/api/v1/teams/{other['id']}", json={"member_ids": [10**9]}), 404, "member_ids")
    assert_problem(seeded.agent.patch(f"/api/v1/teams/{team_id}", json={"name": "Mia"}), 403)
    assert_problem(seeded.agent.delete(f"/api/v1/teams/{team_id}"), 403)

    conv_id = seeded.conversation["id"]
    assert owner.ok("GET", f"{CONVS}/{conv_id}")["team_id"] == team_id
    owner.ok("DELETE", f"/api/v1/teams/{team_id}", 204)
    after = owner.ok("GET", f"{CONVS}/{conv_id}")
    assert (after["team_id"], after["assignee_id"]) == (None, seeded.agent_id)  # the agent keeps it
    assert [t["name"] for t in owner.ok("GET", "/api/v1/teams")] == ["Assistenza"]
    assert_problem(owner.delete(f"/api/v1/teams/{team_id}"), 404)
