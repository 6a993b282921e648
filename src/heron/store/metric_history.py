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
_STEPS_PER_QUERY = 5000
# Histories of at most this many points are downsampled in Python (faster for them); larger
# ones in the database. At most SQL_DOWNSAMPLE_MAX_BUCKETS buckets (their extremes are bound
# parameters of one query) go to the database.
SQL_DOWNSAMPLE_MIN_POINTS = 50_000
SQL_DOWNSAMPLE_MAX_BUCKETS = 10_000
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
    max_points: int | None = None,
) -> list[MetricHistory]:
    """One history per (run, key) with points, in the order of ``run_ids`` then
    ``metric_keys``; each in step order, then timestamp, then the order logged.

    A few (run, key) pairs are read one index range each, four columns a row; many are
    read together, with the run and key in each row to tell them apart.

    With ``max_points``, a few pairs come back already downsampled (as ``downsample``
    would): a large history is downsampled by the database (see ``_downsampled_history``),
    so its points never travel; others are downsampled here. Many pairs are read whole and
    left to the caller's ``downsample``, which returns a history that fits as it is."""
    mysql = conn.dialect.name in ("mysql", "mariadb")
    if len(run_ids) * len(metric_keys) <= _PAIRS_ONE_BY_ONE:
        if max_points is not None:
            histories = (
                _downsampled_history(conn, run_id, key, max_points, start_step, end_step, mysql)
                for run_id in run_ids
                for key in metric_keys
            )
        else:
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
    timestamp = conn.dialect.identifier_preparer.quote("timestamp")
    key = conn.dialect.identifier_preparer.quote("key")
    where, params = _where(conn, run_ids, keys, start_step, end_step)
    columns = f"step, {timestamp}, value, is_nan"
    order = f"step, {timestamp}, metric_id"
    if not one:
        columns, order = f"run_uuid, {key}, {columns}", f"run_uuid, {key}, {order}"
    return f"SELECT {columns} FROM metrics WHERE {where} ORDER BY {order}", params


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _where(
    conn: Connection,
    run_ids: Sequence[str],
    keys: Sequence[str],
    start_step: int | None,
    end_step: int | None,
) -> tuple[str, list[Any]]:
    """The condition choosing the rows of these runs and keys within the step range."""
    mark = _mark(conn)
    key = conn.dialect.identifier_preparer.quote("key")
    if len(run_ids) == 1 and len(keys) == 1:
        where = [f"run_uuid = {mark}", f"{key} = {mark}"]
    else:
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
    return " AND ".join(where), params


# ---- downsampling in the database ---------------------------------------------------------


def _downsampled_history(
    conn: Connection,
    run_id: str,
    key: str,
    max_points: int,
    start_step: int | None,
    end_step: int | None,
    mysql: bool,
) -> MetricHistory:
    """``downsample(history, max_points)`` of one history, the same points, computed mostly
    by the database when the history is large.

    Small histories (up to ``SQL_DOWNSAMPLE_MIN_POINTS``, counted with a bounded index scan)
    are read whole and downsampled here, which is faster for them. For a large one the
    database returns each bucket's smallest and largest value and its first step (an
    aggregate over the bucket's index range: a prepared query a bucket on SQLite, a
    GROUP BY elsewhere); then the first step holding each
    of those values in its bucket is found, and the rows at those steps are read (index
    lookups), of which the first in history order wins, as in ``downsample``. The first and
    the last point come from two index-ordered lookups; only a few thousand rows travel."""
    where, params = _where(conn, [run_id], [key], start_step, end_step)
    buckets = (max_points - 2) // 2
    enough = max(SQL_DOWNSAMPLE_MIN_POINTS, max_points) + 1
    count_sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM metrics WHERE {where} LIMIT {enough}) t"
    ((count,),) = _fetch_all(conn, count_sql, params)
    if count < enough or buckets > SQL_DOWNSAMPLE_MAX_BUCKETS:
        return downsample(_one_history(conn, run_id, key, start_step, end_step, mysql), max_points)
    timestamp = conn.dialect.identifier_preparer.quote("timestamp")
    columns = f"step, {timestamp}, metric_id, value, is_nan"
    order = f"step, {timestamp}, metric_id"
    backwards = f"step DESC, {timestamp} DESC, metric_id DESC"
    rows: dict[int, Any] = {}  # metric_id -> (step, timestamp, metric_id, value, is_nan)
    for direction in (order, backwards):
        sql = f"SELECT {columns} FROM metrics WHERE {where} ORDER BY {direction} LIMIT 1"
        for row in _fetch_all(conn, sql, params):
            rows[row[2]] = row
    lo, hi = min(r[0] for r in rows.values()), max(r[0] for r in rows.values())
    if (hi - lo + 1) * max(buckets, 1) >= 2**62:  # the bucket arithmetic could overflow
        return downsample(_one_history(conn, run_id, key, start_step, end_step, mysql), max_points)
    if buckets >= 1:
        # The buckets' own step ranges replace the asked one, lest a planner pick that.
        bare, bare_params = _where(conn, [run_id], [key], None, None)
        for row in _bucket_extremes(
            conn, (where, params), (bare, bare_params), lo, hi, buckets, mysql, columns
        ):
            rows[row[2]] = row
    chosen = sorted(rows.values(), key=itemgetter(0, 1, 2))
    history = MetricHistory(run_id, key, [], [], [])
    _extend(history, [(r[0], r[1], r[3], r[4]) for r in chosen], mysql, offset=0)
    return history


def _bucket_extremes(
    conn: Connection,
    asked: tuple[str, list[Any]],
    bare: tuple[str, list[Any]],
    lo: int,
    hi: int,
    buckets: int,
    mysql: bool,
    columns: str,
) -> list[Any]:
    """The rows each bucket keeps: its smallest and largest value (the first such point in
    history order), or its first point when it holds only NaN (value NULL)."""
    mark = _mark(conn)
    dialect = conn.dialect.name
    where, params = asked
    one, one_params = bare  # only the run and key: steps come from the buckets
    width = hi - lo + 1
    # Bucket b holds the steps with (step - lo) * buckets // width == b: [bounds[b], bounds[b+1]).
    bounds = [lo + (b * width + buckets - 1) // buckets for b in range(buckets + 1)]
    in_range = f"{one} AND step >= {mark} AND step < {mark}"
    aggregate = f"SELECT MIN(value), MAX(value), MIN(step) FROM metrics WHERE {in_range}"
    found: list[tuple[int, Any, Any, Any]] = []  # (bucket, smallest, largest, first step)
    if dialect == "sqlite":  # no round trips: one index range per bucket beats a GROUP BY
        for b in range(buckets):
            for low, high, first_step in _fetch_all(
                conn, aggregate, [*one_params, bounds[b], bounds[b + 1]]
            ):
                if first_step is not None:
                    found.append((b, low, high, first_step))
    else:
        # Integers of our own making, so written into the SQL: no driver guesses their type.
        divide = "DIV" if mysql else "/"
        n, lo_, w = int(buckets), int(lo), int(width)
        # (A LATERAL aggregate a bucket measured slower on PostgreSQL than its HashAggregate.)
        bucket = f"((step - {lo_}) * {n} {divide} {w})"
        sql = (
            f"SELECT {bucket} AS b, MIN(value), MAX(value), MIN(step) "
            f"FROM metrics WHERE {where} GROUP BY b"
        )
        for b, low, high, first_step in _fetch_all(conn, sql, params):
            if first_step is not None:
                found.append((int(b), low, high, first_step))
    nan_steps: dict[int, int] = {}  # bucket -> first step, for buckets of NaN only
    wanted: dict[tuple[int, Any], int | None] = {}  # (bucket, value) -> its first step
    for b, low, high, first_step in found:
        if low is None:
            nan_steps[b] = first_step
        else:
            wanted[(b, low)] = wanted[(b, high)] = None
    if dialect == "sqlite":
        first = f"SELECT MIN(step) FROM metrics WHERE {in_range} AND value = {mark}"
        for b, value in wanted:
            in_bucket = [*one_params, bounds[b], bounds[b + 1], value]
            for (step,) in _fetch_all(conn, first, in_bucket):
                wanted[(b, value)] = step
    elif wanted:
        values = sorted({v for _, v in wanted})
        bucket = f"((step - {int(lo)}) * {int(buckets)} {'DIV' if mysql else '/'} {int(width)})"
        sql = (
            f"SELECT {bucket} AS b, value, MIN(step) FROM metrics WHERE {where} "
            f"AND value IN ({', '.join([mark] * len(values))}) GROUP BY b, value"
        )
        for b, value, step in _fetch_all(conn, sql, [*params, *values]):
            if (int(b), value) in wanted:
                wanted[(int(b), value)] = step
    targets: dict[int, list[Any]] = {}  # step -> the raw values wanted there (None: any)
    for (_, value), step in wanted.items():
        if step is not None:
            targets.setdefault(step, []).append(value)
    for step in nan_steps.values():
        targets.setdefault(step, []).append(None)
    if not targets:
        return []
    steps = sorted(targets)
    kept: list[Any] = []
    for start in range(0, len(steps), _STEPS_PER_QUERY):
        part = steps[start : start + _STEPS_PER_QUERY]
        timestamp = conn.dialect.identifier_preparer.quote("timestamp")
        listed = ", ".join(str(int(step)) for step in part)  # integers of our own making
        if dialect == "postgresql":
            # An index lookup a step, whatever the (perhaps stale) statistics suggest; with
            # IN the planner may filter the run's whole range instead.
            sql = (
                f"SELECT m.* FROM unnest(CAST(ARRAY[{listed}] AS BIGINT[])) AS s(at) "
                f"CROSS JOIN LATERAL (SELECT {columns} FROM metrics WHERE {one} "
                f"AND step = s.at) AS m ORDER BY m.step, m.{timestamp}, m.metric_id"
            )
        else:
            sql = (
                f"SELECT {columns} FROM metrics WHERE {one} AND step IN ({listed}) "
                f"ORDER BY step, {timestamp}, metric_id"
            )
        rows = _fetch_all(conn, sql, one_params)
        for step, group in _by_step(rows):
            for value in targets[step]:
                for row in group:  # the first row in history order with that value
                    if value is None or row[3] == value:
                        kept.append(row)
                        break
    return kept


def _by_step(rows: Sequence[Any]) -> Iterator[tuple[int, list[Any]]]:
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and rows[end][0] == rows[start][0]:
            end += 1
        yield rows[start][0], list(rows[start:end])
        start = end


def _fetch_all(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


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
