"""Tenancy through every endpoint: one workspace can never read, change or even detect another's data.

Routes are enumerated from the app's own OpenAPI document, so a route added later is covered
(or fails loudly, asking for its id to be seeded) without anyone editing this file's list.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.support import (
    PATH_PARAM,
    Seeded,
    api_operations,
    assert_problem,
    fill,
    id_routes,
    request_kwargs,
    seed_workspace,
)

from crocevia.runtime import Runtime

# Lists that hold a workspace's own rows: each must show its owner's marker (so the check that
# it never shows a stranger's marker is not vacuous).
LISTS_WITH_ROWS = {"/api/v1/users", "/api/v1/tokens", "/api/v1/teams", "/api/v1/channels", "/api/v1/contacts",
                   "/api/v1/contacts/export.csv", "/api/v1/conversations", "/api/v1/webhooks"}


def snapshot(app: FastAPI, owner: Seeded) -> dict[str, tuple[int, bytes]]:
    """Everything the owner can read, byte for byte: any change a stranger made would show."""
    out = {}
    for method, path, _ in api_operations(app):
        if method == "GET":
            url = fill(path, owner.ids)
            resp = owner.owner.get(url)
            out[url] = (resp.status_code, resp.content)
    return out


@pytest.fixture(scope="module")
def two(rt: Runtime, http: TestClient) -> tuple[Seeded, Seeded]:
    """Shared by this module's tests: none of them may change either workspace (that is the point)."""
    return seed_workspace(rt, http, "Alfa"), seed_workspace(rt, http, "Beta")


def test_every_id_route_answers_404_to_another_workspace_and_changes_nothing(
    app: FastAPI, two: tuple[Seeded, Seeded]
) -> None:
    a, b = two
    before = snapshot(app, a)
    assert all(status == 200 for status, _ in before.values()), "A cannot read its own data"
    tried = []
    for method, path, op in id_routes(app):
        url = fill(path, a.ids)
        resp = b.owner.request(method, url, **request_kwargs(app, op, b))
        body = assert_problem(resp, 404)
        assert body["code"] == "not_found"
        assert a.marker not in resp.text
        tried.append(f"{method} {path}")
    assert "DELETE /api/v1/contacts/{contact_id}" in tried and "PATCH /api/v1/users/{user_id}" in tried
    assert snapshot(app, a) == before
    # A's own credentials still work (B's DELETE /tokens/{id} revoked nothing).
    assert a.owner.get("/api/v1/auth/me").status_code == 200


def test_lists_and_filters_never_show_another_workspaces_rows(app: FastAPI, two: tuple[Seeded, Seeded]) -> None:
    a, b = two
    showing_own_rows = set()
    for method, path, _ in api_operations(app):
        if method != "GET" or PATH_PARAM.search(path):
            continue
        theirs = b.owner.get(path)
        assert theirs.status_code == 200, f"{path}: {theirs.text}"
        assert a.marker not in theirs.text, f"{path} shows workspace A's data to workspace B"
        assert a.marker.lower() not in theirs.text.lower()
        if b.marker.lower() in theirs.text.lower():
            showing_own_rows.add(path)
    assert showing_own_rows >= LISTS_WITH_ROWS

    # Filters that name A's objects find nothing, rather than A's rows.
    for params in ({"channel_id": a.channel["id"]}, {"contact_id": a.contact_id}, {"team_id": a.team_id},
                   {"label": a.marker.lower()}, {"q": a.marker}):
        items = b.owner.ok("GET", "/api/v1/conversations", params=params)["items"]
        assert items == [], params
    assert b.owner.ok("GET", "/api/v1/contacts", params={"q": a.marker})["items"] == []
    assert b.owner.ok("GET", "/api/v1/contacts", params={"tag": a.marker.lower()})["items"] == []
    # B's agent sees B's conversation, not A's.
    seen = [c["id"] for c in b.agent.ok("GET", "/api/v1/conversations")["items"]]
    assert seen == [b.conversation["id"]]


def test_ids_of_another_workspace_inside_request_bodies_are_refused(app: FastAPI,
                                                                      two: tuple[Seeded, Seeded]) -> None:
    a, b = two
    before = snapshot(app, a)
    conv = f"/api/v1/conversations/{b.conversation['id']}"
    attempts: list[tuple[str, str, dict[str, Any], str | None]] = [
        ("POST", f"/api/v1/contacts/{b.contact_id}/merge", {"merge_id": a.contact_id}, "merge_id"),
        ("POST", f"/api/v1/contacts/{b.contact_id}/consents",
         {"channel_id": a.channel["id"], "status": "opted_out"}, "channel_id"),
        ("POST", f"{conv}/assign", {"assignee_id": a.agent_id}, "assignee_id"),
        ("POST", f"{conv}/assign", {"assignee_id": None, "team_id": a.team_id}, "team_id"),
        ("POST", f"{conv}/messages", {"text": "ecco", "attachment_id": a.attachment_id}, "attachment_id"),
        ("PUT", f"/api/v1/channels/{b.channel['id']}/members", {"user_ids": [a.agent_id]}, "user_ids"),
        ("POST", "/api/v1/teams", {"name": "Rubato", "member_ids": [a.agent_id]}, "member_ids"),
    ]
    for method, url, body, field in attempts:
        assert_problem(b.owner.request(method, url, json=body), 404, field)
    assert snapshot(app, a) == before
    # Nothing half-done on B's side either.
    assert b.owner.ok("GET", f"/api/v1/contacts/{b.contact_id}")["merged_into_id"] is None
    assert [t["name"] for t in b.owner.ok("GET", "/api/v1/teams")] == [f"Team {b.marker}"]
    assert b.owner.ok("GET", f"/api/v1/channels/{b.channel['id']}/members")["user_ids"] == [b.agent_id]
    assert b.owner.ok("GET", f"{conv}")["assignee_id"] == b.agent_id


@pytest.mark.parametrize("bad_id", ["abc", "1.5", str(2**63), str(10**30)])
def test_malformed_or_absurd_ids_are_a_client_error_on_every_route(app: FastAPI, two: tuple[Seeded, Seeded],
                                                                   bad_id: str) -> None:
    me = two[0]
    for method, path, op in id_routes(app):
        ids: dict[str, int | str] = {name: bad_id for name in PATH_PARAM.findall(path)}
        resp = me.owner.request(method, fill(path, ids), **request_kwargs(app, op, me))
        assert 400 <= resp.status_code < 500, f"{method} {path} with id {bad_id}: {resp.status_code} {resp.text}"
        body = assert_problem(resp, resp.status_code)
        if resp.status_code == 422:
            assert body["field"] in PATH_PARAM.findall(path), body


@pytest.mark.parametrize("bad_id", ["0", "-1"])
def test_ids_that_cannot_exist_are_not_found(app: FastAPI, two: tuple[Seeded, Seeded], bad_id: str) -> None:
    me = two[0]
    for method, path, op in id_routes(app):
        ids: dict[str, int | str] = {name: bad_id for name in PATH_PARAM.findall(path)}
        resp = me.owner.request(method, fill(path, ids), **request_kwargs(app, op, me))
        assert resp.status_code in (404, 422), f"{method} {path}: {resp.status_code} {resp.text}"
        assert_problem(resp, resp.status_code)
