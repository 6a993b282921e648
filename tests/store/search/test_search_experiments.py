"""Experiment filters and ordering against real databases (see conftest.py for the rows).

Experiment 0, "Default", is created by the migration at the current time, so it is the
newest and sorts first by creation_time descending.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from heron.exceptions import HeronException
from heron.store.schema import experiments
from heron.store.search import (
    EXPERIMENT_ENTITIES,
    apply_experiment_order,
    experiment_filter_clause,
    parse_filter,
)

ALL = {0, 1, 2, 3}


def matching(engine: Engine, text: str | None) -> set[int]:
    clause = experiment_filter_clause(parse_filter(text, entities=EXPERIMENT_ENTITIES))
    with engine.connect() as conn:
        return set(conn.scalars(select(experiments.c.experiment_id).where(clause)))


def ordered(engine: Engine, order_by: list[str] | None, text: str | None = None) -> list[int]:
    stmt = select(experiments.c.experiment_id).where(experiment_filter_clause(parse_filter(text)))
    with engine.connect() as conn:
        return list(conn.scalars(apply_experiment_order(stmt, order_by)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ALL),
        ("name = 'alpha'", {1}),
        ("name = 'Alpha'", set()),
        ("name LIKE 'B%'", set()),
        ("name ILIKE 'B%'", {2}),
        ("attributes.name IN ('alpha', 'gamma')", {1, 3}),
        ("name NOT IN ('Default')", {1, 2, 3}),
        ("name != 'beta' AND name NOT LIKE '%a'", {0}),
        ("creation_time > 1500", {0, 2, 3}),
        ("last_update_time <= 2000", {1, 2}),
        ("experiment_id IN (1, '3')", {1, 3}),
        ("experiment_id = '0'", {0}),
        ("tags.owner = 'ann'", {1}),
        ("tags.owner ILIKE 'ANN'", {1, 2}),
        ("tags.owner != 'ann'", {2}),
        ("tags.owner IN ('Ann', 'bob')", {2}),
        ("tags.stage IS NULL", {0, 2, 3}),
        ("tags.stage IS NOT NULL", {1}),
        ("tags.owner = 'Ann' OR (name LIKE 'g%' AND creation_time >= 3000)", {2, 3}),
    ],
)
def test_filters(search_engine: Engine, text: str | None, expected: set[int]) -> None:
    assert matching(search_engine, text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.acc > 1", "Experiments cannot be searched by metric 'acc'"),
        ("creation_time = 'x'", "Expected a number for attribute 'creation_time'"),
        ("name > 'a'", "Invalid comparator '>' for attribute 'name'"),
        ("owner = 'x'", "Invalid attribute key 'owner'; searchable attributes are: name,"),
        ("tags.owner < 'x'", "Invalid comparator '<' for tag 'owner'"),
    ],
)
def test_invalid_filters(text: str, message: str) -> None:
    with pytest.raises(HeronException) as caught:
        experiment_filter_clause(parse_filter(text))
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("order_by", "text", "expected"),
    [
        (None, None, [0, 3, 2, 1]),
        (["creation_time ASC"], None, [1, 2, 3, 0]),
        (["name"], "name != 'Default'", [1, 2, 3]),
        (["name DESC"], "name != 'Default'", [3, 2, 1]),
        (["experiment_id DESC"], None, [3, 2, 1, 0]),
        (["last_update_time"], None, [1, 2, 3, 0]),
    ],
)
def test_order(
    search_engine: Engine, order_by: list[str] | None, text: str | None, expected: list[int]
) -> None:
    assert ordered(search_engine, order_by, text) == expected


@pytest.mark.parametrize("order_by", ["tags.owner", "start_time", "name sideways"])
def test_invalid_order(order_by: str) -> None:
    with pytest.raises(HeronException, match=r"^Invalid order_by"):
        apply_experiment_order(select(experiments.c.experiment_id), [order_by])
