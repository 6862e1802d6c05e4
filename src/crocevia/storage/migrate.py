"""Run Alembic migrations programmatically (``crocevia migrate``) and check they match the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from crocevia.storage.db import Database
from crocevia.storage.fulltext import is_search_object
from crocevia.storage.schema import metadata

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(db: Database, revision: str) -> None:
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def pending_model_changes(db: Database) -> list[object]:
    """Differences between the migrated database and the models (empty when in step)."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        return list(compare_metadata(ctx, metadata()))


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Compare everything but the search objects of migration 0015, which the models cannot describe
    (an FTS5 virtual table and its shadow tables, an expression index)."""
    return not is_search_object(name)
