"""Browser sessions (cookie + CSRF) and API tokens, as a person signing in or a script would see them."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.api.support import Api, Seeded, assert_problem, browser_login, seed_workspace

from crocevia.runtime import Runtime
from crocevia.storage.tables import Base

CSRF = "X-CSRF-Token"


@pytest.fixture
def seeded(rt: Runtime, http: TestClient) -> Seeded:
    return seed_workspace(rt, http, "Sessioni")


def test_login_sets_an_httponly_cookie_and_writes_need_the_csrf_header(app: FastAPI, seeded: Seeded) -> None:
    browser = TestClient(app)
    resp = browser.post("/api/v1/auth/login", json={"email": seeded.ws.owner_email, "password": seeded.ws.password})
    assert resp.status_code == 200
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith("crocevia_session=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    csrf = resp.json()["csrf_token"]
    assert resp.json()["user"]["email"] == seeded.ws.owner_email

    # Reads need only the cookie.
    assert browser.get("/api/v1/auth/me").json()["user"]["email"] == seeded.ws.owner_email
    # A write without the header (what a forged cross-site form would send) is refused, naming it.
    url = f"/api/v1/conversations/{seeded.conversation['id']}/notes"
    body = assert_problem(browser.post(url, json={"text": "senza token"}), 403, CSRF)
    assert CSRF in body["detail"]
    assert_problem(browser.post(url, json={"text": "token sbagliato"}, headers={CSRF: csrf + "x"}), 403, CSRF)
    ok = browser.post(url, json={"text": "con token"}, headers={CSRF: csrf})
    assert ok.status_code == 201
    notes = [n["text"] for n in seeded.owner.ok("GET", url)]
    assert "con token" in notes and "senza token" not in notes and "token sbagliato" not in notes


def test_logout_invalidates_the_session_even_if_the_cookie_is_kept(app: FastAPI, seeded: Seeded) -> None:
    browser, csrf = browser_login(app, seeded.ws.owner_email)
    stolen = browser.cookies.get("crocevia_session")
    assert stolen
    assert browser.post("/api/v1/auth/logout", headers={CSRF: csrf}).status_code == 204
    assert_problem(browser.get("/api/v1/auth/me"), 401)
    # Someone who copied the cookie before logout gets nothing either.
    replay = TestClient(app, cookies={"crocevia_session": stolen})
    assert_problem(replay.get("/api/v1/auth/me"), 401)


def test_an_admin_password_reset_signs_the_user_out(app: FastAPI, seeded: Seeded) -> None:
    agent_email = f"agente@{seeded.marker.lower()}.test"
    browser, _ = browser_login(app, agent_email)
    assert browser.get("/api/v1/auth/me").status_code == 200
    seeded.owner.ok("PATCH", f"/api/v1/users/{seeded.agent_id}", json={"password": "new-password-456"})
    assert_problem(browser.get("/api/v1/auth/me"), 401)
    assert_problem(TestClient(app).post("/api/v1/auth/login", json={"email": agent_email,
                                                                    "password": "password-123"}), 401)
    browser_login(app, agent_email, "new-password-456")


def test_wrong_password_and_unknown_user_get_the_same_401(app: FastAPI, seeded: Seeded) -> None:
    browser = TestClient(app)
    wrong = assert_problem(browser.post("/api/v1/auth/login", json={"email": seeded.ws.owner_email,
                                                                    "password": "not-the-password"}), 401)
    unknown = assert_problem(browser.post("/api/v1/auth/login", json={"email": "nobody@nowhere.test",
                                                                      "password": "not-the-password"}), 401)
    # The answer does not tell an attacker which e-mails have accounts.
    assert wrong["detail"] == unknown["detail"]
    assert "crocevia_session" not in browser.cookies
    assert_problem(browser.get("/api/v1/auth/me"), 401)


def test_a_deactivated_user_cannot_sign_in_and_loses_sessions_and_tokens(app: FastAPI, seeded: Seeded) -> None:
    agent_email = f"agente@{seeded.marker.lower()}.test"
    browser, _ = browser_login(app, agent_email)
    seeded.owner.ok("PATCH", f"/api/v1/users/{seeded.agent_id}", json={"is_active": False})
    assert_problem(TestClient(app).post("/api/v1/auth/login", json={"email": agent_email,
                                                                    "password": "password-123"}), 401)
    assert_problem(browser.get("/api/v1/auth/me"), 401)
    assert_problem(seeded.agent.get("/api/v1/conversations"), 401)
    # Reactivated, the same person signs in again.
    seeded.owner.ok("PATCH", f"/api/v1/users/{seeded.agent_id}", json={"is_active": True})
    browser_login(app, agent_email)


def test_requests_without_credentials_are_401_problems(http: TestClient) -> None:
    for path in ("/api/v1/conversations", "/api/v1/contacts", "/api/v1/auth/me"):
        assert_problem(http.get(path), 401)
    assert_problem(http.get("/api/v1/contacts", headers={"Authorization": "Bearer crv_not-a-real-token"}), 401)


# -- API tokens -------------------------------------------------------------------------------
def test_api_token_shown_once_works_is_stored_hashed_and_revocation_ends_it(rt: Runtime, http: TestClient,
                                                                           seeded: Seeded) -> None:
    created = seeded.owner.ok("POST", "/api/v1/tokens", 201, json={"name": "CRM sync"})
    token = created["token"]
    assert token.startswith("crv_") and len(token) > 40
    script = Api(http, token)
    assert script.ok("GET", "/api/v1/auth/me")["user"]["id"] == seeded.ws.owner.user_id
    assert script.ok("POST", "/api/v1/contacts", 201, json={"name": "Da script"})["name"] == "Da script"

    # Listed afterwards without the secret: it was shown once.
    listed = [t for t in seeded.owner.ok("GET", "/api/v1/tokens") if t["id"] == created["id"]]
    assert listed and "token" not in listed[0] and token not in str(listed)
    assert token.startswith(listed[0]["prefix"])

    # No table anywhere holds the clear token (audit logs included).
    with rt.db.read() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).all():
                assert token not in str(tuple(row)), f"clear token found in table {table.name}"

    seeded.owner.ok("DELETE", f"/api/v1/tokens/{created['id']}", 204)
    assert_problem(script.get("/api/v1/auth/me"), 401)
    assert_problem(script.post("/api/v1/contacts", json={"name": "Dopo la revoca"}), 401)
    revoked = [t for t in seeded.owner.ok("GET", "/api/v1/tokens") if t["id"] == created["id"]]
    assert revoked[0]["revoked_at"] is not None


def test_agents_see_and_revoke_only_their_own_tokens(seeded: Seeded) -> None:
    own = seeded.agent.ok("POST", "/api/v1/tokens", 201, json={"name": "mio"})
    names = {t["name"] for t in seeded.agent.ok("GET", "/api/v1/tokens")}
    assert "mio" in names and f"token {seeded.marker}" not in names
    assert_problem(seeded.agent.delete(f"/api/v1/tokens/{seeded.token_id}"), 404)
    assert seeded.owner.get("/api/v1/auth/me").status_code == 200
    seeded.agent.ok("DELETE", f"/api/v1/tokens/{own['id']}", 204)
