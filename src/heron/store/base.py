"""What every part of the SQL store shares: the engine, the clock and transactions."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from heron.store.engine import (
    PoolLimits,
    create_store_engine,
    read_transaction,
    write_transaction,
)
from heron.store.schema_version import ensure_schema

T = TypeVar("T")
# Keeps IN (...) lists well under every database's bound-parameter limit.
IN_CHUNK = 500


def now_ms() -> int:
    return int(time.time() * 1000)


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StoreBase:
    """Holds the engine; subclasses add one concept each (experiments, runs, run data)."""

    def __init__(
        self, db_uri: str, default_artifact_root: str, pool: PoolLimits | None = None
    ) -> None:
        self.db_uri = db_uri
        self.default_artifact_root = default_artifact_root.rstrip("/")
        limits = pool or PoolLimits()
        self.engine: Engine = create_store_engine(
            db_uri,
            pool_size=limits.size,
            max_overflow=limits.max_overflow,
            pool_timeout=limits.timeout,
        )
        try:
            ensure_schema(self.engine, db_uri)
        except BaseException:
            self.engine.dispose()  # a store that cannot open must not keep connections (or locks)
            raise

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self.engine)

    def _read(self) -> AbstractContextManager[Connection]:
        return read_transaction(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def first_or_none(rows: Iterable[Any]) -> Any:
    for row in rows:
        return row
    return None
