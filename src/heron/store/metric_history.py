"""Reading metric histories fast: DBAPI rows into columns, downsampling, keyset page tokens.

Nothing here imports SQLAlchemy at run time, so the HTTP backend can share ``downsample``
(its fallback for MLflow servers) without loading the store.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import sys
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from heron.entities import MetricHistory
from heron.exceptions import invalid
from heron.validation import validate_key, validate_run_id

if TYPE_CHECKING:
    from sqlalchemy import Connection

MAX_HISTORY_RUNS = 1000
MAX_HISTORY_KEYS = 100
MAX_HISTORY_POINTS = 10_000_000  # largest max_points worth asking for
_FETCH_ROWS = 20_000
_RUNS_PER_QUERY = 500
_PAIRS_ONE_BY_ONE = 100  # (run, key) pairs read with a query each
_MAX_DOUBLE = sys.float_info.max
_NAN = math.nan

# The position of a point in a history's order: (step, timestamp, metric_id).
Position = tuple[int, int, int]


def validate_history_request(
    run_ids: Sequence[str],
    metric_keys: Sequence[str],
    max_points: int | None,
    start_step: int | None,
    end_step: int | None,
) -> tuple[list[str], list[str]]:
    """The run ids and keys without repeats, in their order; limits checked."""
    if isinstance(run_ids, str) or isinstance(metric_keys, str):
        raise invalid("run_ids and metric_keys must be lists of strings, not one string")
    runs = list(dict.fromkeys(run_ids))
    keys = list(dict.fromkeys(metric_keys))
    if not runs or len(runs) > MAX_HISTORY_RUNS:
        raise invalid(f"Give 1 to {MAX_HISTORY_RUNS} run ids, got {len(runs)}")
    if not keys or len(keys) > MAX_HISTORY_KEYS:
        raise invalid(f"Give 1 to {MAX_HISTORY_KEYS} metric keys, got {len(keys)}")
    for run_id in runs:
        validate_run_id(run_id)
    for key in keys:
        validate_key(key, "metric")
    validate_max_points(max_points)
    for name, step in (("start_step", start_step), ("end_step", end_step)):
        if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
            raise invalid(f"{name} must be an integer, got {step!r}")
    if start_step is not None and end_step is not None and start_step > end_step:
        raise invalid(f"start_step ({start_step}) must not be greater than end_step ({end_step})")
    return runs, keys


def validate_max_points(max_points: int | None) -> None:
    if max_points is None:
        return
    if (
        isinstance(max_points, bool)
        or not isinstance(max_points, int)
        or not 2 <= max_points <= MAX_HISTORY_POINTS
    ):
        raise invalid(f"max_points must be an integer from 2 to {MAX_HISTORY_POINTS}")


def read_histories(
    conn: Connection,
    run_ids: Sequence[str],
    metric_keys: Sequence[str],
    start_step: int | None = None,
    end_step: int | None = None,
) -> list[MetricHistory]:
    """One history per (run, key) with points, in the order of ``run_ids`` then
    ``metric_keys``; each in step order, then timestamp, then the order logged.

    A few (run, key) pairs are read one index range each, four columns a row; many are
    read together, with the run and key in each row to tell them apart."""
    mysql = conn.dialect.name in ("mysql", "mariadb")
    if len(run_ids) * len(metric_keys) <= _PAIRS_ONE_BY_ONE:
        histories = (
            _one_history(conn, run_id, key, start_step, end_step, mysql)
            for run_id in run_ids
            for key in metric_keys
        )
        return [h for h in histories if len(h)]
    found: dict[tuple[str, str], MetricHistory] = {}
    for start in range(0, len(run_ids), _RUNS_PER_QUERY):
        part = run_ids[start : start + _RUNS_PER_QUERY]
        sql, params = _history_sql(conn, part, metric_keys, start_step, end_step)
        for history in _collect(_fetch(conn, sql, params), mysql):
            found[(history.run_id, history.key)] = history
    return [found[(r, k)] for r in run_ids for k in metric_keys if (r, k) in found]


def _one_history(
    conn: Connection,
    run_id: str,
    key: str,
    start_step: int | None,
    end_step: int | None,
    mysql: bool,
) -> MetricHistory:
    sql, params = _history_sql(conn, [run_id], [key], start_step, end_step, one=True)
    history = MetricHistory(run_id, key, [], [], [])
    for chunk in _fetch(conn, sql, params):
        _extend(history, chunk, mysql, offset=0)
    return history


def _history_sql(
    conn: Connection,
    run_ids: Sequence[str],
    keys: Sequence[str],
    start_step: int | None,
    end_step: int | None,
    one: bool = False,
) -> tuple[str, list[Any]]:
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    key, timestamp = quote("key"), quote("timestamp")
    where = [
        f"run_uuid IN ({', '.join([mark] * len(run_ids))})",
        f"{key} IN ({', '.join([mark] * len(keys))})",
    ]
    params: list[Any] = [*run_ids, *keys]
    if start_step is not None:
        where.append(f"step >= {mark}")
        params.append(start_step)
    if end_step is not None:
        where.append(f"step <= {mark}")
        params.append(end_step)
    columns = f"step, {timestamp}, value, is_nan"
    order = f"step, {timestamp}, metric_id"
    if not one:
        columns, order = f"run_uuid, {key}, {columns}", f"run_uuid, {key}, {order}"
    sql = f"SELECT {columns} FROM metrics WHERE {' AND '.join(where)} ORDER BY {order}"
    return sql, params


def _fetch(conn: Connection, sql: str, params: Sequence[Any]) -> Iterator[list[Any]]:
    """The answer's rows as the DBAPI's tuples, in chunks."""
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(sql, tuple(params))
        while chunk := cursor.fetchmany(_FETCH_ROWS):
            yield chunk
    finally:
        cursor.close()


def _collect(chunks: Iterator[list[Any]], mysql: bool) -> Iterator[MetricHistory]:
    """Rows ordered by (run, key, ...) into one history per (run, key)."""
    current: MetricHistory | None = None
    for chunk in chunks:
        first, last = chunk[0], chunk[-1]
        if (
            current is not None
            and (first[0], first[1]) == (current.run_id, current.key)
            and (last[0], last[1]) == (first[0], first[1])
        ):
            _extend(current, chunk, mysql)  # the chunk is all one history's
            continue
        start = 0
        while start < len(chunk):
            row = chunk[start]
            if current is None or (row[0], row[1]) != (current.run_id, current.key):
                if current is not None:
                    yield current
                current = MetricHistory(row[0], row[1], [], [], [])
            end = start + 1
            while end < len(chunk) and chunk[end][0] == row[0] and chunk[end][1] == row[1]:
                end += 1
            _extend(current, chunk[start:end], mysql)
            start = end
    if current is not None:
        yield current


def _extend(history: MetricHistory, rows: Sequence[Any], mysql: bool, offset: int = 2) -> None:
    """Append rows of one history ([run, key,] step, timestamp, value, is_nan) to its columns."""
    history.steps.extend(map(itemgetter(offset), rows))
    history.timestamps.extend(map(itemgetter(offset + 1), rows))
    values = list(map(itemgetter(offset + 2), rows))
    if mysql or None in values or any(map(itemgetter(offset + 3), rows)):
        nans = map(itemgetter(offset + 3), rows)
        values = [_value(v, n) for v, n in zip(values, nans, strict=True)]
    history.values.extend(values)


def _value(value: float | None, is_nan: Any) -> float:
    if is_nan or value is None:
        return _NAN
    if abs(value) == _MAX_DOUBLE:  # how MySQL keeps infinity
        return math.copysign(math.inf, value)
    return float(value)


def downsample(history: MetricHistory, max_points: int | None) -> MetricHistory:
    """At most ``max_points`` points that keep the curve's shape (min/max per bucket).

    The step range [first step, last step] is split into ``(max_points - 2) // 2`` buckets of
    equal width. Each bucket keeps the point with its smallest value and the one with its
    largest (one point when they are the same point), NaN ignored; a bucket holding only
    NaN keeps its first point, so gaps still show. The first and the last point are always
    kept. Points come back in history order, never more than ``max_points`` of them; with
    ``max_points`` under 4 only the first and last remain. None, or a history that already
    fits, is returned as it is.
    """
    n = len(history)
    if max_points is None or n <= max_points:
        return history
    validate_max_points(max_points)
    keep = {0, n - 1}
    buckets = (max_points - 2) // 2
    if buckets >= 1:
        keep.update(_extremes(history.steps, history.values, buckets))
    chosen = sorted(keep)
    return MetricHistory(
        history.run_id,
        history.key,
        [history.steps[i] for i in chosen],
        [history.values[i] for i in chosen],
        [history.timestamps[i] for i in chosen],
    )


def _extremes(steps: Sequence[int], values: Sequence[float], buckets: int) -> list[int]:
    """Indexes of each bucket's smallest and largest value (or its first point, all NaN)."""
    first = steps[0]
    width = steps[-1] - first + 1
    kept: list[int] = []
    bucket, low, high, nan_only = -1, 0, 0, 0
    for i, (step, value) in enumerate(zip(steps, values, strict=True)):
        b = (step - first) * buckets // width
        if b != bucket:
            if bucket >= 0:
                kept.extend((nan_only,) if low < 0 else (low, high))
            bucket, low, high, nan_only = b, -1, -1, i
        if value != value:  # NaN takes no part in min and max
            continue
        if low < 0:
            low = high = i
        elif value < values[low]:
            low = i
        elif value > values[high]:
            high = i
    if bucket >= 0:
        kept.extend((nan_only,) if low < 0 else (low, high))
    return kept


# ---- keyset page tokens for get_metric_history -------------------------------------------


def encode_position(position: Position) -> str:
    """An opaque token for "the points after this one" (urlsafe base64 of JSON)."""
    payload = json.dumps({"after": list(position)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode("ascii")


def decode_position(token: str | None) -> Position | None:
    """The position ``token`` stands for; no token means the first page."""
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (UnicodeError, binascii.Error, ValueError) as exc:
        raise invalid(f"Invalid page token {token!r}: it is not one this server issued") from exc
    after = payload.get("after") if isinstance(payload, dict) else None
    if (
        not isinstance(after, list)
        or len(after) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in after)
        or not all(-(2**63) <= v < 2**63 for v in after)
    ):
        raise invalid(f"Invalid page token {token!r}: it holds no position in a history")
    return after[0], after[1], after[2]
