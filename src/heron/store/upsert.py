"""Insert-or-update for each dialect, so concurrent writers never race on a read-then-write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.sql.elements import ColumnElement


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    newer: Any = None,
) -> None:
    """Insert ``rows``; on a key conflict overwrite ``update`` columns.

    ``newer(existing, incoming)`` may return a condition: the row is overwritten only when it
    holds (how latest metrics keep the largest step under concurrent writers).
    """
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        _upsert_on_conflict(conn, table, rows, keys, update, newer, dialect)
    elif dialect in ("mysql", "mariadb"):
        _upsert_on_duplicate(conn, table, rows, update, newer)
    else:  # pragma: no cover - every supported dialect is handled above
        raise NotImplementedError(f"upsert is not implemented for {dialect}")


def _upsert_on_conflict(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    newer: Any,
    dialect: str,
) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any = sqlite.insert if dialect == "sqlite" else postgresql.insert
    stmt = insert(table)
    where: ColumnElement[bool] | None = newer(table.c, stmt.excluded) if newer else None
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: stmt.excluded[name] for name in update},
        where=where,
    )
    conn.execute(stmt, list(rows))


def _upsert_on_duplicate(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    update: Sequence[str],
    newer: Any,
) -> None:
    from sqlalchemy import func
    from sqlalchemy.dialects.mysql import insert

    stmt = insert(table)
    # MySQL assigns these one after another, so a later IF() sees earlier columns already
    # updated. The latest-metric condition stays true once true because timestamp is set
    # before step and compares with >=; keep that order if you change the columns.
    values: dict[str, Any] = {}
    for name in update:
        if newer is None:
            values[name] = stmt.inserted[name]
        else:
            values[name] = func.IF(
                newer(table.c, stmt.inserted), stmt.inserted[name], table.c[name]
            )
    conn.execute(stmt.on_duplicate_key_update(values), list(rows))
