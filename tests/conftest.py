"""Shared fixtures. Every test that touches the database runs on SQLite and, when reachable,
on PostgreSQL (CROCEVIA_TEST_DATABASES=sqlite,postgres; `make test` sets it)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from crocevia.channels.emulator.app import build_emulator_app
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.domain.enums import Role
from crocevia.runtime import Runtime
from crocevia.services import accounts
from crocevia.services.actor import Actor
from crocevia.settings import Settings
from crocevia.storage.db import Database
from crocevia.storage.migrate import upgrade

PG_ADMIN_URL = os.environ.get("CROCEVIA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _engines() -> list[str]:
    wanted = os.environ.get("CROCEVIA_TEST_DATABASES", "sqlite").split(",")
    return [e.strip() for e in wanted if e.strip()]


def _pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once per run; each test gets a copy (migrations are tested on their own)."""
    path = tmp_path_factory.mktemp("template") / "crocevia.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"crv_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(_pg_url(name))
    upgrade(db)
    db.dispose()
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=_engines())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: a copy of the SQLite template, or a PostgreSQL database
    created from the migrated template database."""
    if request.param == "sqlite":
        path = tmp_path / "crocevia.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_settings(database_url: str, tmp_path: Path, **extra: object) -> Settings:
    return Settings(env="test", data_dir=tmp_path, database_url=database_url, secret_key="test-secret-key",
                    log_json=False, send_backoff_base=0.05, send_backoff_cap=0.5, send_lease_seconds=5.0,
                    **extra)  # type: ignore[arg-type]


@pytest.fixture
def rt(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(make_settings(database_url, tmp_path))
    upgrade(runtime.db)
    yield runtime
    runtime.close()


@dataclass
class Workspace:
    id: int
    owner: Actor
    owner_email: str
    password: str


def new_workspace(rt: Runtime, slug: str | None = None) -> Workspace:
    slug = slug or f"ws-{uuid.uuid4().hex[:8]}"
    email = f"owner@{slug}.test"
    ws, owner = accounts.create_workspace(rt, slug=slug, name=slug, owner_email=email, owner_password="password-123")
    return Workspace(ws.id, Actor(workspace_id=ws.id, user_id=owner.id, role=Role.OWNER), email, "password-123")


@pytest.fixture
def ws(rt: Runtime) -> Workspace:
    return new_workspace(rt)


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningServer]:
    server = serve_in_thread(build_emulator_app())
    yield server
    server.stop()


@pytest.fixture
def emu(emulator: RunningServer) -> Iterator[httpx.Client]:
    """A client for the emulator's control API, reset before each test."""
    with httpx.Client(base_url=emulator.url, timeout=10) as client:
        client.post("/_emulator/reset")
        client.post("/_emulator/status-delays", json={"delivered": 0.05})
        yield client


@dataclass
class Hub:
    """The real app served over HTTP on a local port, with its workers running."""

    url: str
    rt: Runtime
    server: RunningServer

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=15)


@pytest.fixture
def hub(database_url: str, tmp_path: Path) -> Iterator[Hub]:
    from crocevia.app import build_app
    from crocevia.channels.emulator.server import free_port

    port = free_port()
    settings = make_settings(database_url, tmp_path, public_url=f"http://127.0.0.1:{port}")
    runtime = Runtime.from_settings(settings)
    upgrade(runtime.db)
    server = serve_in_thread(build_app(settings, runtime=runtime, run_workers=True), port=port)
    yield Hub(server.url, runtime, server)
    server.stop()
    runtime.close()


def api_token(rt: Runtime, actor: Actor) -> str:
    _, token = accounts.create_api_token(rt, actor, name="test")
    return token
