"""Helpers shared by the REST API tests: an authenticated client and a workspace full of data.

Data is created through the public API (and the provider webhook route), the way a customer
would create it, so the tests exercise the same paths users do.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.automation.seed import MINIMAL_FLOW, seed_automation
from tests.conftest import Workspace, api_token, new_workspace

from crocevia.app import build_app
from crocevia.channels.sandbox.adapter import SIGNATURE_HEADER, sign
from crocevia.runtime import Runtime
from crocevia.services import accounts
from crocevia.storage.tables import User

PROBLEM = "application/problem+json"
CREDS = {"account_id": "acct-api", "api_key": "key-api-12345", "webhook_secret": "secret-api-123"}
# Where the sandbox "provider" would be: nothing listens, and no worker runs in these tests.
DEAD_API_BASE = "http://127.0.0.1:9"
PASSWORD = "password-123"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_app(rt: Runtime) -> FastAPI:
    return build_app(rt.settings, runtime=rt, run_workers=False)


@dataclass
class Api:
    """One caller of the API: a TestClient plus that caller's bearer token."""

    http: TestClient
    token: str

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def ok(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        """A call that must succeed; returns the decoded JSON (None for empty bodies)."""
        resp = self.request(method, path, **kw)
        assert resp.status_code == expect, f"{method} {path} -> {resp.status_code}: {resp.text}"
        return resp.json() if resp.content else None


def assert_problem(resp: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and naming this field), never a traceback."""
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text}"
    assert resp.headers["content-type"].startswith(PROBLEM), resp.headers["content-type"]
    assert "Traceback" not in resp.text
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    if field is not None:
        assert body.get("field") == field, body
    return body


def text_event(msg_id: str, text: str, sender: str = "+393331234567", name: str = "Mario Rossi") -> dict[str, Any]:
    return {"type": "message", "id": msg_id, "from": sender, "name": name, "text": text,
            "timestamp": int(time.time())}


def post_inbound(http: TestClient, public_id: str, events: list[dict[str, Any]],
                 secret: str = CREDS["webhook_secret"]) -> httpx.Response:
    """What the sandbox provider sends: a signed JSON body on the channel's webhook URL."""
    body = json.dumps({"events": events}).encode()
    resp = http.post(f"/webhooks/sandbox/{public_id}", content=body,
                     headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)})
    assert resp.status_code == 200, resp.text
    return resp


def create_channel(api: Api, name: str = "Sandbox") -> dict[str, Any]:
    channel: dict[str, Any] = api.ok("POST", "/api/v1/channels", 201, json={
        "kind": "sandbox", "name": name, "credentials": CREDS, "settings": {"api_base": DEAD_API_BASE}})
    return channel


def receive(api: Api, channel: dict[str, Any], text: str, sender: str, name: str) -> dict[str, Any]:
    """A customer writes in; returns the conversation it landed in, as the API lists it."""
    post_inbound(api.http, channel["public_id"], [text_event(f"in-{uuid.uuid4().hex[:10]}", text, sender, name)])
    convs = api.ok("GET", "/api/v1/conversations", params={"channel_id": channel["id"], "q": name, "limit": 200})
    matches = [c for c in convs["items"] if c["contact"]["name"] == name]
    assert len(matches) == 1, convs
    conv: dict[str, Any] = matches[0]
    return conv


def token_for(rt: Runtime, user_id: int) -> str:
    """An API token for this user, made the way the user would make it for themself."""
    with rt.db.read() as s:
        row = s.get(User, user_id)
        assert row is not None
        actor = accounts.actor_for_user(s, row)
    return api_token(rt, actor)


def add_user(rt: Runtime, owner: Api, role: str, name: str, email: str) -> tuple[int, Api]:
    """An admin adds a colleague; returns the user id and an API client acting as that user."""
    user = owner.ok("POST", "/api/v1/users", 201, json={"email": email, "name": name, "role": role,
                                                       "password": PASSWORD})
    return user["id"], Api(owner.http, token_for(rt, user["id"]))


def browser_login(app: FastAPI, email: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    """A browser signing in: returns its client (holding the session cookie) and the CSRF token."""
    browser = TestClient(app)
    resp = browser.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.text
    csrf: str = resp.json()["csrf_token"]
    return browser, csrf


@dataclass
class Seeded:
    """A workspace with one of everything, and the ids a stranger might try."""

    ws: Workspace
    marker: str
    owner: Api
    channel: dict[str, Any]
    conversation: dict[str, Any]
    contact_id: int
    contact2_id: int
    message_in_id: int
    message_out_id: int
    note_id: int
    attachment_id: int
    token_id: int
    sub_id: int
    team_id: int
    agent_id: int
    agent: Api
    ids: dict[str, int] = field(default_factory=dict)


def seed_workspace(rt: Runtime, http: TestClient, label: str) -> Seeded:
    """Everything a workspace holds, each carrying ``marker`` so a leak is easy to spot."""
    marker = f"{label}{uuid.uuid4().hex[:8]}"
    w = new_workspace(rt, slug=marker.lower())
    owner = Api(http, api_token(rt, w.owner))
    channel = create_channel(owner, name=f"Inbox {marker}")
    conv = receive(owner, channel, f"Buongiorno da {marker}", "+393331234567", f"Cliente {marker}")
    contact_id = conv["contact"]["id"]
    owner.ok("PATCH", f"/api/v1/contacts/{contact_id}", json={"email": f"cliente@{marker.lower()}.test",
                                                               "tags": [marker.lower()]})
    contact2 = owner.ok("POST", "/api/v1/contacts", 201, json={"name": f"Secondo {marker}", "country": "IT",
                                                              "phone": "347 765 4321"})
    owner.ok("POST", f"/api/v1/contacts/{contact_id}/consents", 201,
             json={"channel_id": channel["id"], "status": "opted_in", "source": f"form {marker}"})
    att = owner.ok("POST", "/api/v1/attachments", 201, files={"file": (f"{marker}.png", PNG, "image/png")})
    out = owner.ok("POST", f"/api/v1/conversations/{conv['id']}/messages", 202,
                   json={"text": f"Risposta {marker}", "attachment_id": att["id"]})
    msgs = owner.ok("GET", f"/api/v1/conversations/{conv['id']}/messages")["items"]
    message_in_id = next(m["id"] for m in msgs if m["direction"] == "in")
    note = owner.ok("POST", f"/api/v1/conversations/{conv['id']}/notes", 201, json={"text": f"Nota {marker}"})
    owner.ok("PUT", f"/api/v1/conversations/{conv['id']}/labels", json={"labels": [marker.lower()]})
    token = owner.ok("POST", "/api/v1/tokens", 201, json={"name": f"token {marker}"})
    sub = owner.ok("POST", "/api/v1/webhooks", 201, json={"url": f"http://127.0.0.1:9/hook/{marker}",
                                                          "events": ["message.created"]})
    agent_id, agent = add_user(rt, owner, "agent", f"Agente {marker}", f"agente@{marker.lower()}.test")
    owner.ok("PUT", f"/api/v1/channels/{channel['id']}/members", json={"user_ids": [agent_id]})
    team = owner.ok("POST", "/api/v1/teams", 201, json={"name": f"Team {marker}", "member_ids": [agent_id]})
    owner.ok("POST", f"/api/v1/conversations/{conv['id']}/assign", json={"assignee_id": agent_id,
                                                                         "team_id": team["id"]})
    canned = owner.ok("POST", "/api/v1/canned-responses", 201,
                      json={"shortcut": f"hi-{marker.lower()}", "text": f"Ciao {{{{contact.name}}}} {marker}"})
    segment = owner.ok("POST", "/api/v1/segments", 201, json={"name": f"Segmento {marker}",
                                                              "filter": {"tags_any": [marker.lower()]}})
    template = owner.ok("POST", "/api/v1/templates", 201, json={
        "name": f"Offerta {marker}", "variants": {"it": {"text": f"Ciao {{{{first_name}}}} {marker}"}}})
    campaign = owner.ok("POST", "/api/v1/campaigns", 201, json={
        "name": f"Campagna {marker}", "segment_id": segment["id"], "template_id": template["id"],
        "channel_ids": [channel["id"]]})
    policy = owner.ok("POST", "/api/v1/sla-policies", 201, json={"name": f"SLA {marker}", "first_response_minutes": 60})
    ticket = owner.ok("POST", f"/api/v1/conversations/{conv['id']}/ticket", 201, json={"subject": f"Guasto {marker}"})
    rule = owner.ok("POST", "/api/v1/ticket-rules", 201, json={
        "name": f"Regola {marker}", "event": "ticket.created",
        "actions": [{"type": "set_priority", "priority": "high"}]})
    seeded = Seeded(ws=w, marker=marker, owner=owner, channel=channel, conversation=conv, contact_id=contact_id,
                    contact2_id=contact2["id"], message_in_id=message_in_id, message_out_id=out["id"],
                    note_id=note["id"], attachment_id=att["id"], token_id=token["id"], sub_id=sub["id"],
                    team_id=team["id"], agent_id=agent_id, agent=agent)
    # Path parameter name → this workspace's id for it: what a stranger would put in a URL.
    seeded.ids = {"user_id": agent_id, "token_id": token["id"], "channel_id": channel["id"],
                  "contact_id": contact_id, "conversation_id": conv["id"], "message_id": out["id"],
                  "sub_id": sub["id"], "attachment_id": att["id"], "team_id": team["id"], "note_id": note["id"],
                  "canned_id": canned["id"], "segment_id": segment["id"], "template_id": template["id"],
                  "campaign_id": campaign["id"]}
    seeded.ids.update(ticket_id=ticket["id"], sla_policy_id=policy["id"], ticket_rule_id=rule["id"])
    # The conversation's label joined the workspace's catalogue when it was applied (issue 5).
    seeded.ids["label_id"] = next(lbl["id"] for lbl in owner.ok("GET", "/api/v1/labels")
                                  if lbl["name"] == marker.lower())
    seeded.ids.update(seed_automation(rt, owner, conv["id"], marker))
    return seeded


# -- walking the API from its own OpenAPI document -------------------------------------------
PATH_PARAM = re.compile(r"{(\w+)}")
# A valid body per request schema, built from the caller's *own* objects: so when a stranger's
# id sits in the URL, that id is the only thing that can make the call fail.
SAMPLE_BODIES: dict[str, Callable[[Seeded], Any]] = {
    "FlowIn": lambda me: {"definition": MINIMAL_FLOW},
    "UserUpdate": lambda me: {"name": "Mallory"},
    "ChannelUpdate": lambda me: {"name": "taken over"},
    "MembersIn": lambda me: {"user_ids": [me.agent_id]},
    "ContactIn": lambda me: {"name": "taken over"},
    "MergeIn": lambda me: {"merge_id": me.contact2_id},
    "ConsentIn": lambda me: {"channel_id": me.channel["id"], "status": "opted_out"},
    "AssignIn": lambda me: {"assignee_id": None},
    "StatusIn": lambda me: {"status": "resolved"},
    "LabelsIn": lambda me: {"labels": ["taken"]},
    "MessageIn": lambda me: {"text": "taken over"},
    "NoteIn": lambda me: {"text": "taken over"},
    "CannedPatch": lambda me: {"text": "taken over"},
    "BookingMoveIn": lambda me: {"starts_at": "2030-01-01T19:00:00+00:00"},
}


def api_operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in app.openapi()["paths"].items():
        if path.startswith("/api/v1/"):
            for method, op in ops.items():
                yield method.upper(), path, op


def id_routes(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    routes = [(m, p, op) for m, p, op in api_operations(app) if PATH_PARAM.search(p)]
    assert len(routes) >= 20, "the route enumeration found suspiciously few routes"
    return routes


def fill(path: str, ids: Mapping[str, int | str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ids:
            pytest.fail(f"route {path} takes {{{name}}}: seed one in tests/api/support.py (Seeded.ids) "
                        "so tenancy is proven for it too")
        return str(ids[name])

    return PATH_PARAM.sub(one, path)


def _example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A minimal valid value for a JSON schema, for request bodies this file has no sample for."""
    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _example(options[0], components)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "string" and schema.get("format") in ("date-time", "date"):
        return "2030-01-01T19:00:00+00:00" if schema["format"] == "date-time" else "2030-01-01"
    if kind == "array" and schema.get("minItems"):
        return [_example(schema.get("items", {}), components)] * int(schema["minItems"])
    if kind == "object":
        return {k: _example(v, components) for k, v in schema.get("properties", {}).items()
                if k in schema.get("required", [])}
    defaults: dict[str, Any] = {"string": "x" * max(1, schema.get("minLength", 1)), "integer": 1, "number": 1,
                                "boolean": False, "array": []}
    return defaults.get(str(kind))


def request_kwargs(app: FastAPI, op: dict[str, Any], me: Seeded) -> dict[str, Any]:
    content = op.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        return {"files": {"file": ("x.png", PNG, "image/png")}}
    if "application/json" not in content:
        return {}
    schema = content["application/json"]["schema"]
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    if name in SAMPLE_BODIES:
        return {"json": SAMPLE_BODIES[name](me)}
    return {"json": _example(schema, app.openapi()["components"]["schemas"])}


