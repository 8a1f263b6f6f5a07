"""Alembic environment: runs on the connection handed over by `mediaparser.store.migrate`."""
from __future__ import annotations

from alembic import context

from mediaparser.store import models  # noqa: F401  (registers the tables on the metadata)
from mediaparser.store.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `mediaparser db upgrade`")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported")
run_migrations_online()
