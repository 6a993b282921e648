"""The schema Alembic builds is exactly the one schema.py describes, on every dialect."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from heron.store.engine import create_store_engine
from heron.store.schema import metadata
from heron.store.schema_version import (
    SchemaOutdated,
    current_revision,
    ensure_schema,
    head_revision,
)


def test_migrations_match_the_table_definitions(db_uri: str) -> None:
    engine = create_store_engine(db_uri)
    ensure_schema(engine, db_uri)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert current_revision(conn) == head_revision()
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_an_outdated_schema_is_refused_with_the_fix(db_uri: str) -> None:
    engine = create_store_engine(db_uri)
    ensure_schema(engine, db_uri)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    try:
        ensure_schema(engine, db_uri)
    except SchemaOutdated as exc:
        assert "heron db upgrade" in exc.message
    else:
        raise AssertionError("an outdated schema was accepted")
    finally:
        engine.dispose()


def test_a_schema_from_a_newer_heron_says_to_upgrade_heron(db_uri: str) -> None:
    engine = create_store_engine(db_uri)
    ensure_schema(engine, db_uri)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed'")
    try:
        ensure_schema(engine, db_uri)
    except SchemaOutdated as exc:
        assert "newer than this Heron knows" in exc.message
    else:
        raise AssertionError("a schema from the future was accepted")
    finally:
        engine.dispose()


def test_messages_never_show_passwords() -> None:
    message = SchemaOutdated("0001", "0002", "postgresql://alice:s3cret@db/heron").message
    assert "s3cret" not in message and "alice:***@db" in message


def test_foreign_tables_are_not_touched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    uri = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_store_engine(uri)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE experiments_from_someone_else (id INTEGER)")
    try:
        ensure_schema(engine, uri)
    except Exception as exc:
        assert "not Heron's" in str(exc)
    else:
        raise AssertionError("a foreign database was migrated")
    finally:
        engine.dispose()
