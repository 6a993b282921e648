"""Run filters and ordering against real databases (see conftest.py for the rows)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from heron.exceptions import HeronException
from heron.store.schema import runs
from heron.store.search import apply_run_order, parse_filter, run_filter_clause

ALL = {"r1", "r2", "r3", "r4"}


def matching(engine: Engine, text: str | None) -> set[str]:
    stmt = select(runs.c.run_uuid).where(run_filter_clause(parse_filter(text)))
    with engine.connect() as conn:
        return set(conn.scalars(stmt))


def ordered(engine: Engine, order_by: list[str] | None, text: str | None = None) -> list[str]:
    stmt = select(runs.c.run_uuid).where(run_filter_clause(parse_filter(text)))
    with engine.connect() as conn:
        return list(conn.scalars(apply_run_order(stmt, order_by)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ALL),
        ("metrics.acc > 0.75", {"r1", "r3"}),
        ("metrics.acc = 0.9", {"r1"}),
        ("metrics.acc <= 0.8", {"r2", "r3"}),
        ("metrics.acc >= 1e-1", {"r1", "r2", "r3"}),
        ("metrics.acc != 0.9", {"r2", "r3"}),
        # r2's loss is NaN: it matches no comparison except "differs from".
        ("metrics.loss < 1", {"r1"}),
        ("metrics.loss != 0.1", {"r2"}),
        ("metrics.missing > -1", set()),
    ],
)
def test_metrics(search_engine: Engine, text: str | None, expected: set[str]) -> None:
    assert matching(search_engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc >= 0.8 OR params.model = 'rnn'", {"r1", "r2", "r3"}),
        ("params.model = 'cnn' OR params.model = 'rnn' AND metrics.acc > 0.8", {"r1"}),
        ("(params.model = 'cnn' OR params.model = 'rnn') AND metrics.acc < 0.8", {"r2"}),
        ("tags.team = 'vision' or run_id = 'r4' or (user_id = 'alice' and status = 'FAILED')",
         {"r2", "r3", "r4"}),
        ("metrics.acc > 0.85 and metrics.loss < 0.5", {"r1"}),
    ],
)  # fmt: skip
def test_or_and_parentheses(search_engine: Engine, text: str, expected: set[str]) -> None:
    assert matching(search_engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.model IN ('cnn', 'rnn')", {"r1", "r2"}),
        # != and NOT IN need the key with another value; r4 has no params at all.
        ("params.model NOT IN ('cnn')", {"r2", "r3"}),
        ("params.model != 'cnn'", {"r2", "r3"}),
        ("params.lr IS NULL", {"r3", "r4"}),
        ("params.lr IS NOT NULL", {"r1", "r2"}),
        ("params.model LIKE 'c%'", {"r1"}),
        ("params.model ILIKE 'c%'", {"r1", "r3"}),
        ("params.model NOT LIKE 'c%'", {"r2", "r3"}),
        ("params.model NOT ILIKE 'c%'", {"r2"}),
        ("params.model = 'CNN'", {"r3"}),
        ("tags.team = 'vision'", {"r2"}),
        ('tags.team = "Vision"', {"r1"}),
        ("tags.team LIKE 'V%'", {"r1"}),
        ("tags.team ILIKE 'V%'", {"r1", "r2"}),
        ("tags.team ILIKE 'VISION'", {"r1", "r2"}),
        ("tags.team IN ('Vision', 'nlp')", {"r1"}),
        ("tags.team NOT IN ('Vision')", {"r2"}),
        ("tags.priority IS NULL", {"r2", "r3", "r4"}),
        ("tags.priority IS NOT NULL", {"r1"}),
        # Backslash escapes a wildcard on every backend.
        (r"tags.note LIKE '50\%%'", {"r1"}),
        (r"tags.note LIKE '50_\_off'", {"r1", "r2"}),
        ("tags.note LIKE '50%'", {"r1", "r2"}),
    ],
)
def test_params_and_tags(search_engine: Engine, text: str, expected: set[str]) -> None:
    assert matching(search_engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attributes.status IN ('FINISHED', 'FAILED')", {"r1", "r3", "r4"}),
        ("status NOT IN ('RUNNING')", {"r1", "r3", "r4"}),
        ("status = 'finished'", set()),
        ("status ILIKE 'finished'", {"r1", "r4"}),
        ("run_name LIKE 'train%'", {"r1", "r2"}),
        ("run_name = 'Train-A'", set()),
        ("`Run Name` ILIKE 'TRAIN-%'", {"r1", "r2"}),
        ("attr.run_name LIKE '%-A'", {"r1"}),
        ("run.run_name LIKE '%-a'", set()),
        ("user_id != 'alice'", {"r2", "r4"}),
        ("run_id IN ('r1', 'r4')", {"r1", "r4"}),
        ("run_id NOT IN ('r1', 'r4')", {"r2", "r3"}),
        ("experiment_id = '2'", {"r4"}),
        ("experiment_id IN (1)", {"r1", "r2", "r3"}),
        ("experiment_id != 1", {"r4"}),
        ("artifact_uri LIKE '%/r3/%'", {"r3"}),
        ("start_time >= 300", {"r3", "r4"}),
        ("created < 200", {"r1"}),
        ("Created = 200", {"r2"}),
        ("end_time IS NULL", {"r2"}),
        ("end_time IS NOT NULL AND end_time > 300", {"r3", "r4"}),
        ("end_time != 200", {"r3", "r4"}),
    ],
)
def test_attributes(search_engine: Engine, text: str, expected: set[str]) -> None:
    assert matching(search_engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("datasets.name = 'mnist'", {"r1", "r3"}),
        ("dataset.name ILIKE 'MNIST'", {"r1", "r3"}),
        ("datasets.name LIKE 'MNIST'", set()),
        ("datasets.digest IN ('d2')", {"r2"}),
        ("datasets.name NOT IN ('mnist')", {"r2"}),
        ("datasets.context = 'eval'", {"r2", "r3"}),
        ("datasets.name = 'mnist' AND datasets.context = 'training'", {"r1"}),
        ("datasets.name != 'mnist' OR datasets.context LIKE 'train%'", {"r1", "r2"}),
    ],
)
def test_datasets(search_engine: Engine, text: str, expected: set[str]) -> None:
    assert matching(search_engine, text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.acc LIKE '0.9'", "Invalid comparator 'LIKE' for metric 'acc'; use one of: =, !="),
        ("metrics.acc > '0.5'", "Expected a number for metric 'acc', got '0.5'"),
        ("metrics.acc IS NULL", "Invalid comparator 'IS NULL' for metric 'acc'"),
        ("params.lr = 0.01", "Expected a quoted string for param 'lr', got 0.01"),
        ("params.lr > '1'", "Invalid comparator '>' for param 'lr'; use one of: =, !=, LIKE"),
        ("tags.t IN ('a', 1)", "Expected a quoted string for tag 't', got 1"),
        ("foo = 'x'", "Invalid attribute key 'foo'; searchable attributes are: run_id, run_name"),
        ("status IS NULL", "Invalid comparator 'IS NULL' for attribute 'status'"),
        ("start_time LIKE '1'", "Invalid comparator 'LIKE' for attribute 'start_time'"),
        ("start_time IS NULL", "Invalid comparator 'IS NULL' for attribute 'start_time'"),
        ("end_time = 'x'", "Expected a number for attribute 'end_time'"),
        ("experiment_id > 1", "Invalid comparator '>' for attribute 'experiment_id'"),
        ("datasets.size = 'x'", "Invalid dataset field 'size'; searchable fields are: name,"),
        ("datasets.name > 'x'", "Invalid comparator '>' for dataset field 'name'"),
        ("params.p LIKE 'a\\'", "ends with a lone backslash"),
    ],
)
def test_invalid_comparisons(text: str, message: str) -> None:
    with pytest.raises(HeronException, match=r"^(Invalid|Expected)") as caught:
        run_filter_clause(parse_filter(text))
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ["r3", "r4", "r2", "r1"]),
        ([], ["r3", "r4", "r2", "r1"]),
        (["metrics.acc DESC"], ["r1", "r3", "r2", "r4"]),
        (["metrics.acc"], ["r2", "r3", "r1", "r4"]),
        # Real values, then NaN (r2), then no value, whichever the direction.
        (["metrics.loss ASC"], ["r1", "r2", "r3", "r4"]),
        (["metrics.loss DESC"], ["r1", "r2", "r3", "r4"]),
        (["params.lr DESC"], ["r2", "r1", "r3", "r4"]),
        (["params.lr ASC"], ["r1", "r2", "r3", "r4"]),
        (["tags.team"], ["r1", "r2", "r3", "r4"]),
        (["end_time DESC"], ["r4", "r3", "r1", "r2"]),
        (["end_time"], ["r1", "r3", "r4", "r2"]),
        (["attributes.start_time ASC"], ["r1", "r2", "r3", "r4"]),
        (["created DESC"], ["r3", "r4", "r2", "r1"]),
        (["status", "metrics.acc DESC"], ["r3", "r1", "r4", "r2"]),
        (["user_id DESC", "run_name"], ["r4", "r2", "r3", "r1"]),
        (["experiment_id DESC"], ["r4", "r3", "r2", "r1"]),
        (["metrics.acc DESC", "params.model"], ["r1", "r3", "r2", "r4"]),
    ],
)
def test_order(search_engine: Engine, order_by: list[str] | None, expected: list[str]) -> None:
    assert ordered(search_engine, order_by) == expected


def test_order_joins_combine_with_filters(search_engine: Engine) -> None:
    text = "metrics.acc > 0.75 OR params.lr IS NULL"
    order_by = ["metrics.acc", "params.model DESC"]
    assert ordered(search_engine, order_by, text) == ["r3", "r1", "r4"]


@pytest.mark.parametrize("order_by", [["status"], ["metrics.acc DESC"], ["tags.team"], None])
def test_pages_are_stable(search_engine: Engine, order_by: list[str] | None) -> None:
    stmt = apply_run_order(select(runs.c.run_uuid), order_by)
    with search_engine.connect() as conn:
        everything = list(conn.scalars(stmt))
        pages = [list(conn.scalars(stmt.limit(2).offset(start))) for start in (0, 2)]
    assert pages[0] + pages[1] == everything
    assert sorted(everything) == sorted(ALL)


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        ("metrics.acc sideways", "expected ASC, DESC or the end of the clause at position 12"),
        ("foo", "Invalid order_by key 'foo'; order by metrics.<key>, params.<key>, tags.<key>"),
        ("datasets.name DESC", "Invalid order_by key 'datasets.name DESC'"),
    ],
)
def test_invalid_order(order_by: str, message: str) -> None:
    with pytest.raises(HeronException, match=r"^Invalid order_by") as caught:
        apply_run_order(select(runs.c.run_uuid), [order_by])
    assert message in caught.value.message
