"""Run search: a parsed filter becomes a WHERE clause over ``runs``, order_by becomes joins.

Every comparison on a metric, param or tag is a subquery rather than a join, so comparisons
combine freely with AND, OR and parentheses and a run never appears twice: a positive one is
``run_uuid IN (SELECT run_uuid ... WHERE key = ? AND value ...)``, which every database can
answer from the covering (key, value, run_uuid) index once per query, where a correlated
EXISTS made SQLite probe it once per run; ``IS NULL`` stays a NOT EXISTS. Datasets keep
correlated EXISTS. The building blocks below the run-specific part are shared with
experiments.py. ``fetch_run_page`` reads one page, in parts when the first order key is a
metric, param or tag, so that each part can be read in index order and stop at the page's
end (see docs/search.md, "Performance").
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    or_,
    select,
    true,
)

from heron.exceptions import invalid
from heron.store.schema import datasets, input_tags, latest_metrics, params, run_inputs, runs, tags
from heron.store.search.parser import And, Comparison, Node, OrderKey, parse_order_by

SelectT = TypeVar("SelectT", bound=Select[Any])
Condition = ColumnElement[bool]

NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN")
NULL_OPS = ("IS NULL", "IS NOT NULL")
KEY_VALUE_OPS = STRING_OPS + NULL_OPS
DATASET_CONTEXT_TAG = "mlflow.data.context"

_RUN_NAME_ALIASES = ("run_name", "run name", "Run name", "Run Name")
STRING_ATTRIBUTES: Mapping[str, ColumnElement[Any]] = {
    "run_id": runs.c.run_uuid,
    **dict.fromkeys(_RUN_NAME_ALIASES, runs.c.name),
    "user_id": runs.c.user_id,
    "status": runs.c.status,
    "artifact_uri": runs.c.artifact_uri,
}
NUMERIC_ATTRIBUTES: Mapping[str, Column[Any]] = {
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "created": runs.c.start_time,
    "Created": runs.c.start_time,
}
ORDERABLE_ATTRIBUTES: Mapping[str, Column[Any]] = {
    **NUMERIC_ATTRIBUTES,
    "run_id": runs.c.run_uuid,
    **dict.fromkeys(_RUN_NAME_ALIASES, runs.c.name),
    "user_id": runs.c.user_id,
    "status": runs.c.status,
    "artifact_uri": runs.c.artifact_uri,
    "experiment_id": runs.c.experiment_id,
}
_DATASET_FIELDS = ("name", "digest", "context")


def run_filter_clause(node: Node | None) -> Condition:
    """The WHERE condition over ``schema.runs`` that ``node`` describes; None matches all."""
    return combine(node, _run_comparison)


def apply_run_order(stmt: SelectT, order_by: Sequence[str] | None) -> SelectT:
    """``stmt`` (selecting from ``runs``) ordered by ``order_by``, missing values last.

    Ties are always broken by start_time descending, then run_uuid, so pages never overlap.
    """
    return _ordered(stmt, list(order_by or ()), 0)


def fetch_run_page(
    conn: Connection, stmt: Select[Any], order_by: Sequence[str] | None, offset: int, limit: int
) -> list[str]:
    """The run ids ``stmt`` (selecting ``runs.run_uuid``) finds, ordered as
    ``apply_run_order`` orders them, from ``offset``, at most ``limit`` of them.

    When the first order key is a metric, param or tag, its CASE that puts missing values
    last would make the database sort every run before it can return the first. Instead the
    runs are read in parts, in order: those with a value (ordered by the value itself, which
    the (key, value, run_uuid) index gives in order, so the read stops at the page's end),
    then those whose metric is NaN, then those without one. Each part is ordered by the
    remaining keys, then the tie-breakers, so the concatenation is the same order.
    """
    items = list(order_by or ())
    first = parse_order_by(items[0]) if items else None
    if first is None or first.entity not in ("metric", "param", "tag"):
        return list(conn.scalars(_ordered(stmt, items, 0).offset(offset).limit(limit)))
    found: list[str] = []
    for part in _order_parts(stmt, first, items[1:]):
        rows = list(conn.scalars(part.offset(offset).limit(limit - len(found))))
        found.extend(rows)
        if len(found) >= limit:
            break
        if rows or not offset:
            offset = 0  # this part ended on this page: the next one starts at its beginning
        else:  # the page starts past this part: skip however many runs it holds
            counted = select(func.count()).select_from(part.order_by(None).subquery())
            offset = max(0, offset - int(conn.scalar(counted) or 0))
    return found


def _order_parts(stmt: SelectT, first: OrderKey, rest: list[str]) -> list[SelectT]:
    """``stmt`` split by the first order key into the parts ``fetch_run_page`` reads."""
    table = {"metric": latest_metrics, "param": params, "tag": tags}[first.entity]
    keyed = table.alias("order_first")
    c = keyed.c
    # value IS NOT NULL is always true for params and tags; it turns the read into a range
    # of the index, which SQLite's planner then prefers without statistics.
    with_value: list[Condition] = [c.value.is_not(None)]
    stored = or_(c.value.is_not(None), c.is_nan == true()) if first.entity == "metric" else true()
    if first.entity == "metric":
        with_value.append(c.is_nan == false())
    valued = stmt.join_from(
        runs, keyed, and_(c.run_uuid == runs.c.run_uuid, c.key == first.key)
    ).where(*with_value)
    parts = [_ordered(valued, rest, 1, first=[_direction(c.value, first.ascending)])]
    if first.entity == "metric":
        nan = _has_row(table, first.key, table.c.is_nan == true())
        parts.append(_ordered(stmt.where(nan), rest, 1))
    link = and_(c.run_uuid == runs.c.run_uuid, c.key == first.key, stored)
    parts.append(_ordered(stmt.where(~exists().where(link)), rest, 1))
    return parts


def _ordered(
    stmt: SelectT, items: list[str], start: int, first: Sequence[ColumnElement[Any]] = ()
) -> SelectT:
    """``stmt`` ordered by ``first``, then ``items`` (aliases numbered from ``start``),
    then the tie-breakers."""
    clauses = list(first)
    for index, item in enumerate(items, start):
        stmt, terms = _run_order_terms(stmt, item, index)
        clauses.extend(terms)
    return stmt.order_by(*clauses, runs.c.start_time.desc(), runs.c.run_uuid.asc())


def _run_comparison(comparison: Comparison) -> Condition:
    if comparison.entity == "metric":
        return _metric_condition(comparison)
    if comparison.entity in ("param", "tag"):
        table = params if comparison.entity == "param" else tags
        return _run_key_value_condition(table, comparison, comparison.entity)
    if comparison.entity == "dataset":
        return _dataset_condition(comparison)
    return _attribute_condition(comparison)


def _metric_condition(comparison: Comparison) -> Condition:
    """The run's latest value of the metric compares true; NaN (value NULL) differs from all."""
    latest = latest_metrics.c
    matches = numeric_condition(latest.value, comparison, "metric")
    if comparison.op == "!=":
        matches = or_(matches, latest.is_nan == true())
    return _has_row(latest_metrics, comparison.key, matches)


def _run_key_value_condition(table: Table, comparison: Comparison, kind: str) -> Condition:
    """As ``key_value_condition``, with the positive cases as uncorrelated IN-subqueries."""
    check_op(comparison, KEY_VALUE_OPS, kind)
    if comparison.op == "IS NULL":
        link = table.c.run_uuid == runs.c.run_uuid
        return ~exists().where(link, table.c.key == comparison.key)
    if comparison.op == "IS NOT NULL":
        return _has_row(table, comparison.key, true())
    return _has_row(table, comparison.key, string_condition(table.c.value, comparison, kind))


def _has_row(table: Table, key: str, matches: Condition) -> Condition:
    """The run has a row of ``table`` (params, tags, latest_metrics) for ``key`` that matches.

    run_uuid is never NULL, so IN means exactly what EXISTS meant.
    """
    ids = select(table.c.run_uuid).where(table.c.key == key, matches)
    return runs.c.run_uuid.in_(ids)


def _attribute_condition(comparison: Comparison) -> Condition:
    key = comparison.key
    if key in STRING_ATTRIBUTES:
        return string_condition(STRING_ATTRIBUTES[key], comparison, "attribute")
    if key == "experiment_id":
        return id_condition(runs.c.experiment_id, comparison, "attribute")
    if key in NUMERIC_ATTRIBUTES:
        column = NUMERIC_ATTRIBUTES[key]
        return numeric_condition(column, comparison, "attribute", nullable=bool(column.nullable))
    allowed = [*STRING_ATTRIBUTES, "experiment_id", *NUMERIC_ATTRIBUTES]
    raise invalid(f"Invalid attribute key {key!r}; searchable attributes are: {_names(allowed)}")


def _dataset_condition(comparison: Comparison) -> Condition:
    """Some input of the run matches; each comparison may match a different input, as in MLflow."""
    used_by_run = run_inputs.c.run_uuid == runs.c.run_uuid
    if comparison.key == "context":
        return exists().where(
            used_by_run,
            input_tags.c.input_uuid == run_inputs.c.input_uuid,
            input_tags.c.key == DATASET_CONTEXT_TAG,
            string_condition(input_tags.c.value, comparison, "dataset field"),
        )
    if comparison.key not in _DATASET_FIELDS:
        raise invalid(
            f"Invalid dataset field {comparison.key!r}; searchable fields are: "
            f"{_names(_DATASET_FIELDS)}"
        )
    column = datasets.c[comparison.key]
    return exists().where(
        used_by_run,
        datasets.c.dataset_uuid == run_inputs.c.dataset_uuid,
        string_condition(column, comparison, "dataset field"),
    )


def _run_order_terms(
    stmt: SelectT, item: str, index: int
) -> tuple[SelectT, list[ColumnElement[Any]]]:
    """The ORDER BY terms for one order_by item, and ``stmt`` with any join it needs."""
    key = parse_order_by(item)
    if key.entity == "metric":
        # One alias per item, so ordering by two metrics joins two rows of latest_metrics.
        latest = latest_metrics.alias(f"order_{index}")
        stmt = stmt.outerjoin_from(
            runs, latest, and_(latest.c.run_uuid == runs.c.run_uuid, latest.c.key == key.key)
        )
        # Real values first, then NaN (stored as NULL with is_nan), then runs without the metric.
        rank = case((latest.c.is_nan == true(), 1), (latest.c.value.is_(None), 2), else_=0)
        return stmt, [rank, _direction(latest.c.value, key.ascending)]
    if key.entity in ("param", "tag"):
        table = (params if key.entity == "param" else tags).alias(f"order_{index}")
        stmt = stmt.outerjoin_from(
            runs, table, and_(table.c.run_uuid == runs.c.run_uuid, table.c.key == key.key)
        )
        return stmt, ordered_nulls_last(table.c.value, key.ascending, nullable=True)
    if key.entity == "attribute" and key.key in ORDERABLE_ATTRIBUTES:
        column = ORDERABLE_ATTRIBUTES[key.key]
        return stmt, ordered_nulls_last(column, key.ascending, nullable=bool(column.nullable))
    raise invalid(
        f"Invalid order_by key {item!r}; order by metrics.<key>, params.<key>, tags.<key> "
        f"or one of the attributes: {_names(ORDERABLE_ATTRIBUTES)}"
    )


# Building blocks, shared with experiments.py.


def combine(node: Node | None, leaf: Callable[[Comparison], Condition]) -> Condition:
    """The condition for ``node``, with ``leaf`` turning each comparison into SQL."""
    if node is None:
        return true()
    if isinstance(node, Comparison):
        return leaf(node)
    conditions = [combine(item, leaf) for item in node.items]
    return and_(*conditions) if isinstance(node, And) else or_(*conditions)


def key_value_condition(
    table: Table, link: Condition, comparison: Comparison, kind: str
) -> Condition:
    """A comparison on a key/value table (params, tags): ``link`` ties its rows to the owner.

    ``!=`` and ``NOT IN`` need the key with another value; ``IS NULL`` means no such key.
    """
    check_op(comparison, KEY_VALUE_OPS, kind)
    same_key = and_(link, table.c.key == comparison.key)
    if comparison.op == "IS NULL":
        return ~exists().where(same_key)
    if comparison.op == "IS NOT NULL":
        return exists().where(same_key)
    return exists().where(same_key, string_condition(table.c.value, comparison, kind))


def string_condition(column: ColumnElement[Any], comparison: Comparison, kind: str) -> Condition:
    check_op(comparison, STRING_OPS, kind)
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    for value in values:
        if not isinstance(value, str):
            raise invalid(
                f"Expected a quoted string for {kind} {comparison.key!r}, got {value!r}; "
                "quote string values with single quotes"
            )
        if comparison.op.endswith("LIKE"):
            _check_pattern(value, comparison.key)
    return _STRING_OPERATORS[comparison.op](column, comparison.value)


def numeric_condition(
    column: ColumnElement[Any], comparison: Comparison, kind: str, *, nullable: bool = False
) -> Condition:
    """A numeric comparison; ``nullable`` columns also take IS NULL and IS NOT NULL."""
    if nullable and comparison.op in NULL_OPS:
        return column.is_(None) if comparison.op == "IS NULL" else column.is_not(None)
    check_op(comparison, NUMERIC_OPS + (NULL_OPS if nullable else ()), kind)
    value = comparison.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"Expected a number for {kind} {comparison.key!r}, got {value!r}")
    return _NUMERIC_OPERATORS[comparison.op](column, value)


def id_condition(column: ColumnElement[Any], comparison: Comparison, kind: str) -> Condition:
    """An integer id column compared as text, as MLflow's ids are strings; 3 means '3'."""
    value = comparison.value
    if isinstance(value, tuple):
        text: object = tuple(_id_text(item) for item in value)
    else:
        text = _id_text(value)
    return string_condition(cast(column, String), dataclasses.replace(comparison, value=text), kind)


def check_op(comparison: Comparison, allowed: Sequence[str], kind: str) -> None:
    if comparison.op not in allowed:
        raise invalid(
            f"Invalid comparator {comparison.op!r} for {kind} {comparison.key!r}; "
            f"use one of: {', '.join(allowed)}"
        )


def ordered_nulls_last(
    column: ColumnElement[Any], ascending: bool, *, nullable: bool
) -> list[ColumnElement[Any]]:
    """ORDER BY terms that put NULL last either way; NULLS LAST is not portable (MySQL)."""
    direction = _direction(column, ascending)
    if not nullable:
        return [direction]
    return [case((column.is_(None), 1), else_=0), direction]


def _direction(column: ColumnElement[Any], ascending: bool) -> ColumnElement[Any]:
    return column.asc() if ascending else column.desc()


def _id_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _check_pattern(pattern: str, key: str) -> None:
    # Backslash escapes % and _ on every database; PostgreSQL rejects a dangling one outright.
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    if trailing % 2:
        raise invalid(f"Invalid pattern {pattern!r} for {key!r}: it ends with a lone backslash")


def _names(names: Sequence[str] | Mapping[str, Any]) -> str:
    return ", ".join(names)


def _like(column: ColumnElement[Any], pattern: Any) -> Condition:
    return column.like(pattern, escape="\\")


def _ilike(column: ColumnElement[Any], pattern: Any) -> Condition:
    # lower() on both sides, done by the database, folds the same way for column and pattern.
    return func.lower(column).like(func.lower(pattern), escape="\\")


_STRING_OPERATORS: Mapping[str, Callable[[ColumnElement[Any], Any], Condition]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "LIKE": _like,
    "NOT LIKE": lambda column, pattern: ~_like(column, pattern),
    "ILIKE": _ilike,
    "NOT ILIKE": lambda column, pattern: ~_ilike(column, pattern),
    "IN": lambda column, values: column.in_(values),
    "NOT IN": lambda column, values: column.not_in(values),
}
_NUMERIC_OPERATORS: Mapping[str, Callable[[ColumnElement[Any], Any], Condition]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
