"""Alembic environment: runs on the connection that `divert registry init` hands over."""

from __future__ import annotations

from alembic import context

from divert.registry.models import metadata

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    """Run the migrations in the caller's transaction (offline SQL generation is not supported)."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the registry migrations through `divert registry init`")
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
