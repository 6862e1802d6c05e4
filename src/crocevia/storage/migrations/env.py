"""Alembic environment: the URL comes from the caller (crocevia.storage.migrate)."""

from __future__ import annotations

from alembic import context

from crocevia.storage.migrate import include_name
from crocevia.storage.schema import metadata

config = context.config
target_metadata = metadata()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables.
        compare_type=True,
        include_name=include_name,  # autogenerate leaves the search objects alone
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
