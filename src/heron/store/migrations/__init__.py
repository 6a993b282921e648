"""Alembic migrations for the store's schema; see heron.store.schema_version."""
