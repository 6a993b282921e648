"""Idempotent writes: a request id is applied at most once.

Heron's HTTP client sends a fresh id with each write it may retry and the same id on every
retry. The write and the row that records its id commit in one transaction, so either both
are stored or neither is: a retry after a lost answer finds the id and skips the write.

Two attempts of one request may also run at the same moment (the client gave up waiting,
the first is still in flight). On SQLite ``BEGIN IMMEDIATE`` serialises them, so the second
sees the first's row. On PostgreSQL and MySQL the second blocks on the first's uncommitted
key, then fails with a unique-key error once the first commits; that error, when the id
is then found applied, means "already applied".
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from heron.store import schema as s
from heron.store.base import now_ms
from heron.store.engine import read_transaction, write_transaction
from heron.validation import validate_request_id

# Clients retry within minutes; a day leaves a wide margin before ids may be pruned.
APPLIED_REQUEST_TTL_MS = 24 * 60 * 60 * 1000


@dataclass
class Once:
    """One write transaction under a request id.

    ``applied_run`` is set when the id was applied before (to the run it named): the caller
    then writes nothing. Otherwise the caller writes through ``conn`` and calls ``record``.
    """

    request_id: str | None
    applied_run: str | None = None
    _conn: Connection | None = field(default=None, repr=False)

    @property
    def conn(self) -> Connection:
        assert self._conn is not None, "used outside its write_once block"
        return self._conn

    def record(self, run_uuid: str) -> None:
        """Mark the request applied, in the transaction that writes it."""
        if self.request_id is None:
            return
        self.conn.execute(
            insert(s.applied_requests).values(
                request_id=self.request_id, run_uuid=run_uuid, applied_time=now_ms()
            )
        )


# SQLite has one writer at a time, and a writer that finds the lock taken polls for it with
# sleeps of up to 100 ms. Writers of one process queue here instead, so each takes the
# database's lock the moment the previous one commits; other processes still meet SQLite's
# own wait. Reentrant, so a write nested in a write waits no longer than it did.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_GUARD = threading.Lock()
if hasattr(os, "register_at_fork"):  # a forked child must not inherit a lock held mid-write
    os.register_at_fork(after_in_child=_SQLITE_WRITERS.clear)


def _writer_lock(engine: Engine) -> contextlib.AbstractContextManager[Any]:
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    lock = _SQLITE_WRITERS.get(engine)
    if lock is None:
        with _SQLITE_WRITERS_GUARD:
            lock = _SQLITE_WRITERS.setdefault(engine, threading.RLock())
    return lock


@contextlib.contextmanager
def write_once(engine: Engine, request_id: str | None) -> Iterator[Once]:
    """A write transaction that is skipped, not repeated, when ``request_id`` was applied."""
    once = Once(validate_request_id(request_id))
    try:
        with _writer_lock(engine), write_transaction(engine) as conn:
            once._conn = conn
            if once.request_id is not None:
                once.applied_run = _applied_run(conn, once.request_id)
            yield once
    except IntegrityError:
        # Another attempt of this request committed first: the write is stored, once.
        applied = _applied_elsewhere(engine, once.request_id)
        if applied is None:
            raise
        once.applied_run = applied
    finally:
        once._conn = None


def _applied_run(conn: Connection, request_id: str) -> str | None:
    table = s.applied_requests
    found: str | None = conn.execute(
        select(table.c.run_uuid).where(table.c.request_id == request_id)
    ).scalar()
    return found


def _applied_elsewhere(engine: Engine, request_id: str | None) -> str | None:
    if request_id is None:
        return None
    with read_transaction(engine) as conn:
        return _applied_run(conn, request_id)


def prune_applied_requests(engine: Engine, max_age_ms: int = APPLIED_REQUEST_TTL_MS) -> int:
    """Forget request ids applied more than ``max_age_ms`` ago; returns how many."""
    table = s.applied_requests
    with write_transaction(engine) as conn:
        result = conn.execute(delete(table).where(table.c.applied_time < now_ms() - max_age_ms))
    return int(result.rowcount or 0)
