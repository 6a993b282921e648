"""Database engines: one URL in, a configured SQLAlchemy engine out.

SQLite gets what keeps many writers from ever seeing "database is locked": WAL journaling,
a long busy timeout, and ``BEGIN IMMEDIATE`` for write transactions so a writer takes the
write lock up front (waiting politely) instead of failing when it upgrades a read lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from heron.exceptions import invalid

SQLITE_BUSY_TIMEOUT_SECONDS = 60.0
_WRITE_OPTION = "heron_write"


@dataclass(frozen=True)
class PoolLimits:
    """How many connections one engine may hold to a database server: ``size`` kept open,
    up to ``max_overflow`` more under load, and how long a caller waits for one (seconds).

    Each server worker has one engine, so a server never holds more than
    workers x (size + max_overflow) connections. SQLite keeps its own pooling.
    """

    size: int = 5
    max_overflow: int = 10
    timeout: float = 30.0

    @property
    def max_connections(self) -> int:
        return self.size + self.max_overflow


def create_store_engine(
    db_uri: str,
    pool_size: int = PoolLimits.size,
    max_overflow: int = PoolLimits.max_overflow,
    pool_timeout: float = PoolLimits.timeout,
) -> Engine:
    """An engine for ``db_uri``; SQLite files and their folder are created on demand.

    The pool arguments bound the connections to PostgreSQL or MySQL; SQLite ignores them.
    """
    try:
        url = make_url(db_uri)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise invalid(f"Cannot parse database URI {db_uri!r}: {exc}") from exc
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
    )
    _forget_pool_after_fork(engine)
    return engine


def _sqlite_engine(url: Any) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    memory = not url.database or url.database == ":memory:"
    engine = create_engine(
        url,
        # A file database keeps a small pool (opening a connection costs more than a write);
        # an in-memory one must not, or each connection would see a different database.
        poolclass=NullPool if memory else None,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "isolation_level": None},
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    _forget_pool_after_fork(engine)
    return engine


def _forget_pool_after_fork(engine: Engine) -> None:
    """A forked child must not reuse its parent's connections; it opens its own."""
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(engine)  # a weak reference: closed engines may still be collected

    def dispose_in_child() -> None:
        alive = ref()
        if alive is not None:
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=dispose_in_child)


def _configure_sqlite_connection(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # MLflow's LIKE is case-sensitive; SQLite's is not unless told. ILIKE stays insensitive.
        cursor.execute("PRAGMA case_sensitive_like = ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(conn: Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A short write transaction; on SQLite it holds the write lock from its first statement."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn
