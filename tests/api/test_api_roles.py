"""Roles and inbox membership: who may read, write and administer, through every route."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.support import (
    PATH_PARAM,
    Api,
    Seeded,
    add_user,
    api_operations,
    assert_problem,
    browser_login,
    create_channel,
    fill,
    receive,
    request_kwargs,
    seed_workspace,
    token_for,
)

from crocevia.runtime import Runtime

# Writes anyone signed in may make: signing in and out.
SELF_SERVICE = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout")}
# POSTs that compute an answer and change nothing. A segment preview only counts contacts matching an
# unsaved filter, the same read as GET /segments/{id}/count, which viewers may already do.
READ_ONLY_POSTS = {("POST", "/api/v1/dlp/scan"), ("POST", "/api/v1/segments/preview")}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def seeded(rt: Runtime, http: TestClient) -> Seeded:
    return seed_workspace(rt, http, "Ruoli")


class Browser:
    """A signed-in browser: session cookie, and the CSRF token it echoes on writes."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client, self.csrf = client, csrf

    def request(self, method: str, path: str, **kw: Any) -> Any:
        return self.client.request(method, path, headers={"X-CSRF-Token": self.csrf}, **kw)


def test_viewer_reads_everything_but_every_write_is_forbidden(app: FastAPI, rt: Runtime, seeded: Seeded) -> None:
    vera = seeded.owner.ok("POST", "/api/v1/users", 201, json={"email": f"viewer@{seeded.marker.lower()}.test",
                                                              "name": "Vera Viewer", "role": "viewer",
                                                              "password": "password-123"})
    # Like agents, viewers see the inboxes they belong to.
    seeded.owner.ok("PUT", f"/api/v1/channels/{seeded.channel['id']}/members",
                    json={"user_ids": [seeded.agent_id, vera["id"]]})
    viewer = Browser(*browser_login(app, f"viewer@{seeded.marker.lower()}.test"))
    conv = f"/api/v1/conversations/{seeded.conversation['id']}"
    for path in ("/api/v1/conversations", conv, f"{conv}/messages", f"{conv}/notes", "/api/v1/contacts",
                 f"/api/v1/contacts/{seeded.contact_id}", f"/api/v1/attachments/{seeded.attachment_id}"):
        assert viewer.request("GET", path).status_code == 200, path
    assert [c["id"] for c in viewer.request("GET", "/api/v1/conversations").json()["items"]] == [
        seeded.conversation["id"]]

    before_conv = seeded.owner.ok("GET", conv)
    refused = []
    for method, path, op in api_operations(app):
        if method not in WRITES or (method, path) in SELF_SERVICE | READ_ONLY_POSTS:
            continue
        resp = viewer.request(method, fill(path, seeded.ids), **request_kwargs(app, op, seeded))
        body = assert_problem(resp, 403)
        assert body["code"] == "permission_denied"
        refused.append(f"{method} {path}")
    assert "POST /api/v1/conversations/{conversation_id}/messages" in refused
    assert len(refused) >= 25
    # Nothing changed: same conversation, same messages, the agent still has his token.
    assert seeded.owner.ok("GET", conv) == before_conv
    assert seeded.agent.get("/api/v1/auth/me").status_code == 200
    # What a viewer may do to their own account: change their name.
    me = viewer.request("GET", "/api/v1/auth/me").json()["user"]
    renamed = viewer.request("PATCH", f"/api/v1/users/{me['id']}", json={"name": "Vera V."})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Vera V."
    assert_problem(viewer.request("PATCH", f"/api/v1/users/{me['id']}", json={"role": "agent"}), 403)


def test_agent_sees_only_the_inboxes_he_belongs_to(rt: Runtime, app: FastAPI, seeded: Seeded) -> None:
    hidden_channel = create_channel(seeded.owner, name="Inbox riservata")
    hidden = receive(seeded.owner, hidden_channel, "Richiesta riservata", "+393471112223", "Cliente Riservato")
    hidden_msg = seeded.owner.ok("GET", f"/api/v1/conversations/{hidden['id']}/messages")["items"][0]
    note = seeded.owner.ok("POST", f"/api/v1/conversations/{hidden['id']}/notes", 201, json={"text": "riservato"})
    att = seeded.owner.ok("POST", "/api/v1/attachments", 201,
                          files={"file": ("r.pdf", b"%PDF-1.4 riservato", "application/pdf")})
    seeded.owner.ok("POST", f"/api/v1/conversations/{hidden['id']}/messages", 202,
                    json={"text": "allegato", "attachment_id": att["id"]})
    agent = seeded.agent

    listed = [c["id"] for c in agent.ok("GET", "/api/v1/conversations")["items"]]
    assert listed == [seeded.conversation["id"]]
    assert [c["id"] for c in agent.ok("GET", "/api/v1/channels")] == [seeded.channel["id"]]
    assert agent.ok("GET", "/api/v1/conversations", params={"channel_id": hidden_channel["id"]})["items"] == []

    # Every route that takes an id from the hidden inbox answers as if it did not exist (or, for
    # admin-only routes, refuses the agent before looking): never 200.
    hidden_ids: dict[str, int | str] = {
        **seeded.ids, "channel_id": hidden_channel["id"], "conversation_id": hidden["id"],
        "message_id": hidden_msg["id"], "note_id": note["id"], "attachment_id": att["id"]}
    inbox_params = {"channel_id", "conversation_id", "message_id", "note_id", "attachment_id"}
    checked = 0
    for method, path, op in api_operations(app):
        params = set(PATH_PARAM.findall(path))
        if not params or not params <= inbox_params:
            continue
        resp = agent.request(method, fill(path, hidden_ids), **request_kwargs(app, op, seeded))
        assert resp.status_code in (403, 404), f"{method} {path}: {resp.status_code} {resp.text}"
        assert_problem(resp, resp.status_code)
        assert "riservat" not in resp.text.lower()
        checked += 1
    assert checked >= 15

    # His own inbox works: open, read, reply.
    mine = f"/api/v1/conversations/{seeded.conversation['id']}"
    assert agent.ok("GET", mine)["id"] == seeded.conversation["id"]
    assert agent.ok("POST", f"{mine}/messages", 202, json={"text": "Eccomi"})["status"] == "queued"

    # Membership takes effect at once, both ways.
    seeded.owner.ok("PUT", f"/api/v1/channels/{hidden_channel['id']}/members",
                    json={"user_ids": [seeded.agent_id]})
    assert hidden["id"] in [c["id"] for c in agent.ok("GET", "/api/v1/conversations")["items"]]
    assert agent.get(f"/api/v1/attachments/{att['id']}").status_code == 200
    seeded.owner.ok("PUT", f"/api/v1/channels/{hidden_channel['id']}/members", json={"user_ids": []})
    assert_problem(agent.get(f"/api/v1/conversations/{hidden['id']}"), 404)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/webhooks", None),
    ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/x"}),
    ("DELETE", "/api/v1/webhooks/{sub_id}", None),
    ("GET", "/api/v1/webhooks/{sub_id}/deliveries", None),
    ("POST", "/api/v1/users", {"email": "nuovo@example.com", "name": "Nuovo", "password": "password-123"}),
    ("PATCH", "/api/v1/users/{owner_id}", {"name": "Capo"}),
    ("POST", "/api/v1/channels", {"kind": "sandbox", "name": "X", "credentials": {}}),
    ("PATCH", "/api/v1/channels/{channel_id}", {"name": "Rinominato"}),
    ("PUT", "/api/v1/channels/{channel_id}/members", {"user_ids": []}),
    ("POST", "/api/v1/channels/{channel_id}/test", None),
    ("POST", "/api/v1/teams", {"name": "Nuovo team"}),
    ("DELETE", "/api/v1/contacts/{contact_id}", None),
])
def test_admin_only_routes_refuse_agents(seeded: Seeded, method: str, path: str, body: dict[str, Any] | None) -> None:
    url = path.format(sub_id=seeded.sub_id, owner_id=seeded.ws.owner.user_id, channel_id=seeded.channel["id"],
                      contact_id=seeded.contact_id)
    resp = seeded.agent.request(method, url, json=body) if body is not None else seeded.agent.request(method, url)
    assert_problem(resp, 403)
    # And the same call is fine for the owner where it is harmless to check.
    if method == "GET":
        assert seeded.owner.get(url).status_code == 200


def test_agent_cannot_promote_himself(seeded: Seeded) -> None:
    assert_problem(seeded.agent.patch(f"/api/v1/users/{seeded.agent_id}", json={"role": "admin"}), 403)
    users = {u["id"]: u for u in seeded.owner.ok("GET", "/api/v1/users")}
    assert users[seeded.agent_id]["role"] == "agent"


@pytest.fixture
def fresh(rt: Runtime, http: TestClient) -> Seeded:
    return seed_workspace(rt, http, "Capo")


def test_the_last_owner_cannot_be_demoted_or_deactivated(rt: Runtime, fresh: Seeded) -> None:
    owner_id = fresh.ws.owner.user_id
    assert_problem(fresh.owner.patch(f"/api/v1/users/{owner_id}", json={"role": "admin"}), 400, "role")
    assert_problem(fresh.owner.patch(f"/api/v1/users/{owner_id}", json={"is_active": False}), 400, "is_active")
    me = fresh.owner.ok("GET", "/api/v1/auth/me")["user"]
    assert (me["role"], me["is_active"]) == ("owner", True)

    # With a second owner, one of them may step down.
    second = fresh.owner.ok("POST", "/api/v1/users", 201, json={
        "email": f"socio@{fresh.marker.lower()}.test", "name": "Socio", "role": "owner", "password": "password-123"})
    assert fresh.owner.ok("PATCH", f"/api/v1/users/{owner_id}", json={"role": "admin"})["role"] == "admin"
    # ...but a deactivated owner does not count as the one who keeps the workspace.
    owner2 = Api(fresh.owner.http, token_for(rt, second["id"]))
    owner2.ok("PATCH", f"/api/v1/users/{owner_id}", json={"role": "owner"})
    owner2.ok("PATCH", f"/api/v1/users/{owner_id}", json={"is_active": False})
    assert_problem(owner2.patch(f"/api/v1/users/{second['id']}", json={"role": "agent"}), 400, "role")


def test_an_admin_cannot_make_himself_owner_or_take_over_an_owner(rt: Runtime, app: FastAPI,
                                                                  fresh: Seeded) -> None:
    admin_id, admin = add_user(rt, fresh.owner, "admin", "Amministratore", f"admin@{fresh.marker.lower()}.test")
    owner_id = fresh.ws.owner.user_id
    assert_problem(admin.patch(f"/api/v1/users/{admin_id}", json={"role": "owner"}), 403)
    assert_problem(admin.patch(f"/api/v1/users/{owner_id}", json={"password": "taken-over-123"}), 403)
    assert_problem(admin.patch(f"/api/v1/users/{owner_id}", json={"is_active": False}), 403)
    assert_problem(admin.post("/api/v1/users", json={"email": f"o2@{fresh.marker.lower()}.test", "name": "O2",
                                                     "role": "owner", "password": "password-123"}), 403)
    # The owner can still sign in with the old password.
    browser_login(app, fresh.ws.owner_email, fresh.ws.password)
    # Admins do manage agents.
    assert admin.ok("PATCH", f"/api/v1/users/{fresh.agent_id}", json={"role": "viewer"})["role"] == "viewer"

