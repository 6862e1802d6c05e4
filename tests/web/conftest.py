"""Fixtures for the agent UI tests: the real app driven in-process (page tests) or served on a local
port with its workers (browser tests, through the suite's ``hub`` fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from tests.conftest import Workspace, new_workspace

import crocevia.security
from crocevia.app import build_app
from crocevia.domain.enums import Role
from crocevia.runtime import Runtime
from crocevia.services import accounts, channels
from crocevia.storage.tables import Channel

PASSWORD = "password-123"
SANDBOX_CREDS = {"account_id": "acct-web", "api_key": "key-web-12345", "webhook_secret": "secret-web-123"}
# Nothing listens here: page tests never send, and no worker runs in them.
DEAD_API_BASE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at production cost takes ~0.5 s per hash; these tests make many users. Same code path."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crocevia.security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(build_app(rt.settings, runtime=rt, run_workers=False), follow_redirects=False) as c:
        yield c


def add_user(rt: Runtime, w: Workspace, role: Role, *, name: str = "Anna Agente", language: str | None = None,
             email: str | None = None) -> Any:
    email = email or f"{role.value}-{name.split()[0].lower()}@{w.owner_email.split('@')[1]}"
    return accounts.create_user(rt, w.owner, email=email, name=name, role=role, password=PASSWORD,
                                language=language)


def sandbox_channel(rt: Runtime, w: Workspace, name: str = "Sandbox") -> Channel:
    return channels.create_channel(rt, w.owner, kind="sandbox", name=name, credentials=SANDBOX_CREDS,
                                   settings={"api_base": DEAD_API_BASE})


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in the way the login page does (POST to the API); returns the CSRF token."""
    client.cookies.clear()
    resp = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["csrf_token"]
    return token


def boot_data(html: str) -> dict[str, Any]:
    """The JSON a page hands its scripts."""
    import json

    match = re.search(r'<script type="application/json" id="boot">(.*?)</script>', html, re.S)
    assert match, "the page has no boot data"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


@pytest.fixture
def workspace(rt: Runtime) -> Workspace:
    return new_workspace(rt)
