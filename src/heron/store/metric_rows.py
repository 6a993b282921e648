"""Metric points into the ``metrics`` table as fast as each database takes them.

Rows are plain tuples handed to the DBAPI: ``executemany`` of one prepared INSERT on SQLite
and MySQL (PyMySQL folds it into multi-row INSERTs), ``COPY ... FROM STDIN`` on PostgreSQL
with psycopg 3. The latest value of each (run, key) is found in Python and written by the
conditional upsert, so concurrent writers still agree on it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_

from heron.entities import Metric
from heron.exceptions import invalid
from heron.store import schema as s
from heron.store.upsert import upsert
from heron.validation import validate_key, validate_metric

# One row as the table's columns: run_uuid, key, value (None for NaN), is_nan, timestamp, step.
Row = tuple[str, str, float | None, bool, int, int]
COLUMNS = ("run_uuid", "key", "value", "is_nan", "timestamp", "step")

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_DOUBLE = sys.float_info.max
_INF = math.inf


def finite_only(conn: Connection | Engine) -> bool:
    """MySQL cannot store infinity; the largest double stands in for it there."""
    return conn.dialect.name in ("mysql", "mariadb")


@dataclass(frozen=True)
class MetricColumns:
    """Points of one run as parallel columns (how the server's bulk route receives them),
    so a million points need not become a million Metric objects on the way in."""

    keys: Sequence[str]
    values: Sequence[float]
    timestamps: Sequence[int]
    steps: Sequence[int]

    def __len__(self) -> int:
        return len(self.values)


Points = Sequence[Metric] | MetricColumns
_FIELDS = attrgetter("key", "value", "timestamp", "step")


def metric_rows(
    run_id: str, points: Points, finite: bool, into: list[Row] | None = None
) -> list[Row]:
    """Validated rows of ``points`` (appended to ``into``): MLflow's value, timestamp and
    step rules, keys checked once each, int64 bounds enforced."""
    if isinstance(points, MetricColumns):
        n = len(points.values)
        if not len(points.keys) == len(points.timestamps) == len(points.steps) == n:
            raise invalid("The key, value, timestamp and step columns must have one item per point")
        fields: Iterable[tuple[Any, Any, Any, Any]] = zip(
            points.keys, points.values, points.timestamps, points.steps, strict=True
        )
    else:
        fields = map(_FIELDS, points)
    rows: list[Row] = [] if into is None else into
    append = rows.append
    keys: set[str] = set()
    for key, value, timestamp, step in fields:
        if key not in keys:
            validate_key(key, "metric")
            keys.add(key)
        if type(value) is not float:
            value = _double(key, value, timestamp, step)
        if type(timestamp) is not int or not 0 <= timestamp <= _INT64_MAX:
            timestamp = _int64(Metric(key, value, timestamp, step), timestamp, "timestamp")
        if type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = 0 if step is None else _int64(Metric(key, value, timestamp, step), step, "step")
        if value != value:  # NaN
            append((run_id, key, None, True, timestamp, step))
        elif finite and (value == _INF or value == -_INF):
            append((run_id, key, math.copysign(_MAX_DOUBLE, value), False, timestamp, step))
        else:
            append((run_id, key, value, False, timestamp, step))
    return rows


def _double(key: str, value: Any, timestamp: Any, step: Any) -> float:
    validate_metric(Metric(key, value, timestamp, step))  # MLflow's message for a non-number
    return float(value)


def _int64(metric: Metric, value: Any, what: str) -> int:
    validate_metric(metric)  # raises for what is not an integer (or a negative timestamp)
    number = int(value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise invalid(
            f"Got invalid {what} {value!r} for metric '{metric.key}': it must fit in a 64-bit "
            "integer."
        )
    return number


# The PostgreSQL types of COLUMNS (schema.metrics), for binary COPY.
_COPY_TYPES = ["varchar", "varchar", "float8", "bool", "int8", "int8"]


def insert_rows(conn: Connection, rows: Sequence[Row]) -> None:
    """The rows into ``metrics``, in the connection's transaction, through the DBAPI."""
    if not rows:
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c) for c in COLUMNS)
    table = quote(s.metrics.name)
    cursor = driver.cursor()
    try:
        if conn.dialect.name == "postgresql" and hasattr(cursor, "copy"):
            # Binary COPY: PostgreSQL parses no text, and psycopg formats less. The rows'
            # types are exact (validated str, str, float or None, bool, int64, int64).
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_COPY_TYPES)
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        else:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            marks = ", ".join([mark] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def newest_rows(rows: Iterable[Row]) -> list[Row]:
    """The newest row of each (run, key): largest step, then the later (or last) timestamp;
    in (run, key) order, so concurrent writers lock latest_metrics rows in one order."""
    latest: dict[tuple[str, str], Row] = {}
    get = latest.get
    for row in rows:
        where = (row[0], row[1])
        held = get(where)
        if held is None or row[5] > held[5] or (row[5] == held[5] and row[4] >= held[4]):
            latest[where] = row
    return [latest[where] for where in sorted(latest)]


def newest_points(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """``newest_rows`` as column -> value mappings."""
    return [dict(zip(COLUMNS, row, strict=True)) for row in newest_rows(rows)]


def store_points(conn: Connection, rows: Sequence[Row]) -> None:
    """History rows plus the latest-value bookkeeping, in the caller's transaction."""
    insert_rows(conn, rows)
    if conn.dialect.name in ("sqlite", "postgresql"):
        upsert_latest(conn, newest_rows(rows))
        return
    upsert(
        conn,
        s.latest_metrics,
        newest_points(rows),
        keys=("run_uuid", "key"),
        update=("value", "is_nan", "timestamp", "step"),
        newer=is_newer,
    )


# Rows per statement of the PostgreSQL upsert (6 parameters each, under its 65535 limit).
_UPSERT_ROWS_PER_STATEMENT = 1000


def upsert_latest(conn: Connection, rows: Sequence[Row]) -> None:
    """``INSERT ... ON CONFLICT DO UPDATE`` of the newest rows into latest_metrics on SQLite
    and PostgreSQL, through the DBAPI: a stored value is replaced only by a newer one (the
    rule of ``is_newer``), decided by the database so concurrent writers agree."""
    if not rows:
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    quote = conn.dialect.identifier_preparer.quote
    table = quote(s.latest_metrics.name)
    columns = ", ".join(quote(c) for c in COLUMNS)
    step, timestamp = quote("step"), quote("timestamp")
    tail = (
        f" ON CONFLICT ({quote('run_uuid')}, {quote('key')}) DO UPDATE SET "
        + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in COLUMNS[2:])
        + f" WHERE excluded.{step} > {table}.{step} OR (excluded.{step} = {table}.{step}"
        f" AND excluded.{timestamp} >= {table}.{timestamp})"
    )
    cursor = driver.cursor()
    try:
        if conn.dialect.name == "sqlite":
            marks = ", ".join(["?"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks}){tail}", rows)
            return
        for start in range(0, len(rows), _UPSERT_ROWS_PER_STATEMENT):
            part = rows[start : start + _UPSERT_ROWS_PER_STATEMENT]
            marks = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(part))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {marks}{tail}",
                [field for row in part for field in row],
            )
    finally:
        cursor.close()


def is_newer(current: Any, incoming: Any) -> Any:
    """Largest step wins; at equal steps the later (or equal) timestamp wins."""
    return or_(
        incoming.step > current.step,
        and_(incoming.step == current.step, incoming.timestamp >= current.timestamp),
    )
