"""Fixtures for the REST API tests: the real app over a migrated database, driven in-process.

One database per engine serves every API test: each test makes its own workspace(s), and
since every row is workspace-scoped (which these tests prove) they cannot see each other.
That keeps the suite fast on PostgreSQL, where migrating a fresh schema per test costs seconds.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from tests.api.support import make_app
from tests.conftest import PG_ADMIN_URL, make_settings

import crocevia.security
from crocevia.runtime import Runtime
from crocevia.storage.migrate import upgrade

# Small enough that the "too large" upload test stays cheap; the real default is 16 MiB.
MEDIA_MAX_BYTES = 256 * 1024


@pytest.fixture(autouse=True, scope="module")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 with its production cost takes ~0.5 s per hash on a busy CI box; the tests make
    dozens of users. Same algorithm and code path, lighter parameters."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crocevia.security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


def _wanted_engines() -> list[str]:
    return [e.strip() for e in os.environ.get("CROCEVIA_TEST_DATABASES", "sqlite").split(",") if e.strip()]


@pytest.fixture(scope="session", params=_wanted_engines())
def api_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per engine for all API tests: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('api-db') / 'crocevia.db'}"
        return
    # A schema of its own in the test database: CREATE DATABASE would copy template1, which
    # fails whenever any other process happens to be connected to it.
    schema = f"crv_api_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def rt(api_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """Overrides the suite's per-test runtime with one shared by the API tests (see above)."""
    settings = make_settings(api_database_url, tmp_path_factory.mktemp("api-data"), media_max_bytes=MEDIA_MAX_BYTES)
    runtime = Runtime.from_settings(settings)
    upgrade(runtime.db)
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def app(rt: Runtime) -> FastAPI:
    return make_app(rt)


@pytest.fixture(scope="session")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client
