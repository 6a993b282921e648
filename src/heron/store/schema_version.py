"""Creating, checking and upgrading the schema, always through Alembic and under a lock.

Many processes may open a new database at the same moment (eight training jobs started by
one script); the first takes the lock and migrates, the others wait, then find the schema at
head and do nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url

from heron.exceptions import HeronException
from heron.store.engine import write_transaction

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
UPGRADE_COMMAND = "heron db upgrade"
_PG_LOCK_KEY = 0x4845524F4E  # "HERON"


class SchemaOutdated(HeronException):
    def __init__(self, current: str | None, head: str, db_uri: str) -> None:
        shown = safe_uri(db_uri)
        if current is not None and not _known_revision(current):
            message = (
                f"The database schema is at revision {current}, newer than this Heron knows "
                f"(its newest is {head}): a newer Heron wrote it. Upgrade Heron to use {shown}."
            )
        else:
            message = (
                f"The database schema is at revision {current}, but this Heron needs {head}. "
                f"Back up the database, then run: {UPGRADE_COMMAND} --backend-store-uri '{shown}'"
            )
        super().__init__(message, "INVALID_STATE")


def safe_uri(db_uri: str) -> str:
    """The URI with any password masked, for messages and logs."""
    try:
        return make_url(db_uri).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: nothing in it to hide
        return db_uri


def _known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic raises for unknown ids
        return False


def alembic_config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine, db_uri: str, *, upgrade_existing: bool = False) -> None:
    """Create the schema on an empty database; refuse an outdated one unless told to upgrade."""
    head = head_revision()
    if _revision_without_lock(engine) == head:
        return
    with _migration_lock(engine) as conn:
        current = current_revision(conn)
        if current == head:
            return
        if current is not None and not upgrade_existing:
            raise SchemaOutdated(current, head, db_uri)
        if current is None and _has_foreign_tables(conn):
            raise HeronException(
                "The database already holds tables that are not Heron's (an MLflow database?). "
                "Point Heron at an empty database; importing from MLflow is a separate tool.",
                "INVALID_STATE",
            )
        from alembic import command

        command.upgrade(alembic_config(conn), "head")


def _revision_without_lock(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def _has_foreign_tables(conn: Connection) -> bool:
    return bool(set(inspect(conn).get_table_names()) - {"alembic_version"})


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the database-wide migration lock."""
    if engine.dialect.name in ("mysql", "mariadb"):
        with _mysql_lock(engine), write_transaction(engine) as conn:
            yield conn
        return
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        # SQLite: write_transaction already began with BEGIN IMMEDIATE, which is the lock.
        yield conn


@contextlib.contextmanager
def _mysql_lock(engine: Engine) -> Iterator[None]:
    """A session lock, named per database, held on a connection of its own and released
    only after the migrating transaction has committed: released earlier, a waiting
    process could read the version before the last migration's stamp is committed."""
    with engine.connect() as lock_conn:
        name = f"heron_migrations:{engine.url.database}"[:64]
        got = lock_conn.execute(text("SELECT GET_LOCK(:n, 600)"), {"n": name}).scalar()
        if got != 1:
            raise HeronException(
                "Timed out waiting for another process's schema migration (10 minutes).",
                "TEMPORARILY_UNAVAILABLE",
            )
        try:
            yield
        finally:
            lock_conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
            lock_conn.commit()
