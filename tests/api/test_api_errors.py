"""Bad requests get a problem+json naming what is wrong: never a 500, never a traceback.

The body checks walk every JSON route in the OpenAPI document, so a new route is covered too.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.support import Seeded, api_operations, assert_problem, fill, request_kwargs, seed_workspace

from crocevia.runtime import Runtime


@pytest.fixture(scope="module")
def seeded(rt: Runtime, http: TestClient) -> Seeded:
    return seed_workspace(rt, http, "Errori")


def json_routes(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    routes = [(m, p, op) for m, p, op in api_operations(app)
              if "application/json" in op.get("requestBody", {}).get("content", {})]
    assert len(routes) >= 15
    return routes


def test_malformed_json_is_a_400_about_the_body_on_every_route(app: FastAPI, seeded: Seeded) -> None:
    for method, path, _ in json_routes(app):
        for raw in (b'{"name": ', b"{'single': 'quotes'}", b"\xff\xfe", b'{"a": 1}{'):
            resp = seeded.owner.request(method, fill(path, seeded.ids), content=raw,
                                        headers={"Content-Type": "application/json"})
            body = assert_problem(resp, 400, "body")
            assert "JSON" in body["detail"], f"{method} {path}: {body}"


def test_a_body_that_is_not_an_object_or_is_missing_is_a_400(app: FastAPI, seeded: Seeded) -> None:
    for method, path, op in json_routes(app):
        if not op["requestBody"].get("required"):
            continue
        for kw in ({"json": [1, 2]}, {"json": "testo"}, {}):
            resp = seeded.owner.request(method, fill(path, seeded.ids), **kw)
            assert_problem(resp, 400, "body")


def test_unknown_fields_are_refused_by_name_on_every_route(app: FastAPI, seeded: Seeded) -> None:
    """extra=forbid everywhere: a typo in a field name must not be silently ignored."""
    before = seeded.owner.ok("GET", f"/api/v1/contacts/{seeded.contact_id}")
    for method, path, op in json_routes(app):
        kw = request_kwargs(app, op, seeded)
        kw["json"] = {**kw["json"], "campo_inventato": 1}
        resp = seeded.owner.request(method, fill(path, seeded.ids), **kw)
        body = assert_problem(resp, 422, "campo_inventato")
        assert body["code"] == "validation_failed", f"{method} {path}"
    assert seeded.owner.ok("GET", f"/api/v1/contacts/{seeded.contact_id}") == before


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/v1/contacts", {"name": 123}, "name"),
    ("POST", "/api/v1/contacts", {"tags": ["ok", 5]}, "tags.1"),
    ("POST", "/api/v1/contacts", {"attributes": ["non", "un", "oggetto"]}, "attributes"),
    ("PATCH", "/api/v1/contacts/{contact_id}", {"birth_year": "1990 circa"}, "birth_year"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages", {"text": "ok", "buttons": [{"title": 5}]},
     "buttons.0.title"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages", {"text": ["lista"]}, "text"),
    ("POST", "/api/v1/conversations/{conversation_id}/assign", {"assignee_id": "mario"}, "assignee_id"),
    ("POST", "/api/v1/conversations/{conversation_id}/status", {"status": "resolved", "snoozed_until": "domani"},
     "snoozed_until"),
    ("PUT", "/api/v1/channels/{channel_id}/members", {"user_ids": [1, "due"]}, "user_ids.1"),
    ("POST", "/api/v1/users", {"email": "a@b.it", "name": "A", "role": "imperatore", "password": "password-1"},
     "role"),
    ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/x", "secret": "corto"}, "secret"),
    ("POST", "/api/v1/channels", {"kind": "sandbox", "name": "S", "credentials": {"account_id": "a"}},
     "credentials.api_key"),
    ("POST", "/api/v1/channels", {"kind": "piccione", "name": "S", "credentials": {}}, "kind"),
    ("POST", "/api/v1/webhooks", {"url": "ftp://example.com/hook"}, "url"),
    ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["message.exploded"]}, "events"),
])
def test_wrong_values_name_the_field(seeded: Seeded, method: str, path: str, body: dict[str, Any],
                                     field: str) -> None:
    resp = seeded.owner.request(method, fill(path, seeded.ids), json=body)
    assert resp.status_code in (400, 404, 422), resp.text
    assert_problem(resp, resp.status_code, field)


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/v1/contacts", {"limit": "tanti"}, "limit"),
    ("/api/v1/contacts", {"cursor": "-3"}, "cursor"),
    ("/api/v1/conversations", {"team_id": "squadra"}, "team_id"),
    ("/api/v1/conversations/{conversation_id}/messages", {"before": "ieri"}, "before"),
])
def test_bad_query_parameters_name_the_parameter(seeded: Seeded, path: str, params: dict[str, str],
                                                 field: str) -> None:
    assert_problem(seeded.owner.get(fill(path, seeded.ids), params=params), 422, field)


def test_unknown_routes_methods_and_headers_are_problems_too(seeded: Seeded) -> None:
    assert_problem(seeded.owner.get("/api/v1/non-esiste"), 404)
    assert_problem(seeded.owner.request("PUT", "/api/v1/contacts"), 405)
    conv = f"/api/v1/conversations/{seeded.conversation['id']}/messages"
    assert_problem(seeded.owner.post(conv, json={"text": "x"}, headers={"Idempotency-Key": "k" * 500}), 422,
                   "Idempotency-Key")
