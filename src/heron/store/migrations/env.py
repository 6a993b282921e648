"""Alembic environment: Heron always hands Alembic an open connection (see schema_version)."""

from __future__ import annotations

from alembic import context

from heron.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
