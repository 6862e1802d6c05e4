"""The schema migrates identically on both engines, and the CLI explains itself and fails cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from crocevia.runtime import Runtime
from crocevia.storage.migrate import downgrade, pending_model_changes, upgrade


def test_migrated_schema_matches_the_models(rt: Runtime) -> None:
    assert pending_model_changes(rt.db) == []
    tables = set(inspect(rt.db.engine).get_table_names())
    assert {"workspaces", "messages", "outbox", "contact_consents", "webhook_deliveries"} <= tables


def test_migrations_go_down_and_up_again(rt: Runtime) -> None:
    downgrade(rt.db, "base")
    assert "messages" not in inspect(rt.db.engine).get_table_names()
    upgrade(rt.db)
    assert pending_model_changes(rt.db) == []


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crocevia.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_every_command_has_help() -> None:
    top = _cli("--help")
    assert top.returncode == 0
    for command in ("serve", "worker", "migrate", "demo", "createuser", "emulator"):
        assert command in top.stdout
        sub = _cli(command, "--help")
        assert sub.returncode == 0 and "usage: crocevia " + command in sub.stdout


def test_createuser_and_demo_end_to_end(tmp_path: Path) -> None:
    env = {"CROCEVIA_DATA_DIR": str(tmp_path), "CROCEVIA_DATABASE_URL": ""}
    assert _cli("migrate", env=env).returncode == 0
    demo = _cli("demo", env=env)
    assert demo.returncode == 0 and "demo@crocevia.local" in demo.stdout
    again = _cli("demo", env=env)
    assert again.returncode == 0 and "already there" in again.stdout
    ok = _cli("createuser", "new@crocevia.local", "--role", "viewer", "--password", "long-enough-pw", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "created viewer new@crocevia.local" in ok.stdout


def test_bad_input_is_a_message_and_a_nonzero_exit_never_a_traceback(tmp_path: Path) -> None:
    env = {"CROCEVIA_DATA_DIR": str(tmp_path), "CROCEVIA_DATABASE_URL": ""}
    _cli("migrate", env=env)
    short = _cli("createuser", "x@y.it", "--workspace", "nope", "--password", "long-enough-pw", env=env)
    assert short.returncode == 2 and "no workspace 'nope'" in short.stderr
    _cli("demo", env=env)
    weak = _cli("createuser", "a@b.it", "--password", "short", env=env)
    assert weak.returncode == 2 and "password" in weak.stderr and "Traceback" not in weak.stderr
    bad_setting = _cli("migrate", env={**env, "CROCEVIA_PORT": "not-a-number"})
    assert bad_setting.returncode == 2 and "port" in bad_setting.stderr and "Traceback" not in bad_setting.stderr
    prod = _cli("migrate", env={**env, "CROCEVIA_ENV": "prod"})
    assert prod.returncode == 2 and "CROCEVIA_SECRET_KEY" in prod.stderr


def test_channel_credentials_are_encrypted_at_rest(rt: Runtime) -> None:
    from sqlalchemy import text
    from tests.conftest import new_workspace

    from crocevia.services import channels

    w = new_workspace(rt)
    secret = "very-secret-api-key-42"
    ch = channels.create_channel(rt, w.owner, kind="sandbox", name="S",
                                 credentials={"account_id": "a", "api_key": secret, "webhook_secret": "whsec-123456"})
    with rt.db.engine.connect() as conn:
        raw = conn.execute(text("SELECT credentials_encrypted FROM channels WHERE id = :id"), {"id": ch.id}).scalar()
    assert secret.encode() not in bytes(raw)
    assert channels.config_for(rt, ch).credentials["api_key"] == secret
