"""Search stays answered from indexes: the plans of hot searches, paging in parts, and time.

The plan tests read SQLite's EXPLAIN QUERY PLAN on a freshly migrated store (no statistics,
as a user's file has): a filter or an order on a metric, param or tag must read its
(key, value, run_uuid) index and never scan latest_metrics, params or tags. The paging tests
check, on every database, that ``fetch_run_page`` (which reads a page in parts when the first
order key is a metric, param or tag) returns exactly the order ``apply_run_order`` defines.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, Select, event, insert, select

from heron.store import schema
from heron.store.engine import create_store_engine, write_transaction
from heron.store.schema_version import ensure_schema
from heron.store.search import apply_run_order, fetch_run_page, parse_filter, run_filter_clause
from heron.store.tracking import SqlTrackingStore

SEARCH_TABLES = ("latest_metrics", "params", "tags")


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    uri = f"sqlite:///{tmp_path_factory.mktemp('plan') / 'heron.db'}"
    engine = create_store_engine(uri)
    ensure_schema(engine, uri)
    return engine


def page_query(text: str | None) -> Select[Any]:
    runs = schema.runs.c
    stmt = select(runs.run_uuid).where(
        runs.experiment_id.in_([1]), runs.lifecycle_stage == "active"
    )
    node = parse_filter(text)
    return stmt if node is None else stmt.where(run_filter_clause(node))


def plans(engine: Engine, text: str | None, order_by: list[str]) -> list[str]:
    """The plan lines of every query ``fetch_run_page`` runs for its first page."""
    statements: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_args: Any) -> None:
        statements.append((sql, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with engine.connect() as conn:
            fetch_run_page(conn, page_query(text), order_by, 0, 101)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    lines: list[str] = []
    with engine.connect() as conn:
        for sql, parameters in statements:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
            lines.extend(row[3] for row in rows)
    return lines


def assert_no_scan(lines: list[str]) -> None:
    for line in lines:
        for table in SEARCH_TABLES:
            assert not line.startswith(f"SCAN {table}"), lines
        assert not line.startswith("SCAN runs"), lines


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("metrics.acc > 0.9", "ix_latest_metrics_key_value_run_uuid (key=? AND value>?)"),
        ("params.lr = '0.01'", "ix_params_key_value_run_uuid (key=? AND value=?)"),
        ("tags.team = 'vision'", "ix_tags_key_value_run_uuid (key=? AND value=?)"),
        ("params.model IN ('a', 'b')", "ix_params_key_value_run_uuid (key=? AND value=?)"),
        ("tags.team ILIKE '%vis%'", "ix_tags_key_value_run_uuid (key=?)"),
        ("params.seed IS NOT NULL", "ix_params_key_value_run_uuid (key=?)"),
    ],
)
def test_filters_read_the_covering_index(sqlite_engine: Engine, text: str, index: str) -> None:
    lines = plans(sqlite_engine, text, [])
    assert any(line.endswith(f"USING COVERING INDEX {index}") for line in lines), lines
    assert any("ix_runs_experiment_id_lifecycle_stage_start_time" in line for line in lines)
    assert_no_scan(lines)


def test_or_of_filters_reads_each_index_once(sqlite_engine: Engine) -> None:
    lines = plans(sqlite_engine, "params.model IN ('a','b') OR metrics.acc > 0.95", [])
    assert sum("LIST SUBQUERY" in line for line in lines) == 2, lines
    assert not any("CORRELATED" in line for line in lines), lines
    assert_no_scan(lines)


@pytest.mark.parametrize(
    ("order_by", "index"),
    [
        (["metrics.acc DESC"], "ix_latest_metrics_key_value_run_uuid"),
        (["metrics.loss"], "ix_latest_metrics_key_value_run_uuid"),
        (["params.lr"], "ix_params_key_value_run_uuid"),
        (["tags.team DESC"], "ix_tags_key_value_run_uuid"),
    ],
)
def test_order_by_a_value_reads_it_in_index_order(
    sqlite_engine: Engine, order_by: list[str], index: str
) -> None:
    """The first part (runs with a value) is read in index order: only ties are sorted."""
    lines = plans(sqlite_engine, "metrics.acc > 0.5", order_by)
    # Metrics need is_nan from the table as well, so their index is not a covering one there.
    assert lines[0].startswith("SEARCH order_first USING "), lines
    assert f"INDEX {index} (key=?" in lines[0], lines
    assert "USE TEMP B-TREE FOR ORDER BY" not in lines, lines
    assert_no_scan(lines)


def test_default_order_reads_the_runs_index(sqlite_engine: Engine) -> None:
    lines = plans(sqlite_engine, None, [])
    assert lines[0].startswith("SEARCH runs USING INDEX ix_runs_experiment_id_lifecycle_stage")
    assert "USE TEMP B-TREE FOR ORDER BY" not in lines, lines


ORDERS = [
    ["metrics.acc"],
    ["metrics.acc DESC"],
    ["metrics.loss"],
    ["metrics.loss DESC", "params.model"],
    ["params.model DESC"],
    ["params.lr", "metrics.acc DESC"],
    ["tags.team"],
    ["tags.missing DESC", "run_name"],
    ["metrics.missing"],
    ["status", "metrics.acc"],
    None,
]


@pytest.mark.parametrize("order_by", ORDERS)
@pytest.mark.parametrize("text", [None, "metrics.acc > 0.75 OR params.model = 'rnn'"])
def test_pages_in_parts_keep_the_order(
    search_engine: Engine, order_by: list[str] | None, text: str | None
) -> None:
    stmt = select(schema.runs.c.run_uuid).where(run_filter_clause(parse_filter(text)))
    with search_engine.connect() as conn:
        expected = list(conn.scalars(apply_run_order(stmt, order_by)))
        assert fetch_run_page(conn, stmt, order_by, 0, 100) == expected
        for limit, offset in itertools.product((1, 2, 3), range(len(expected) + 2)):
            page = fetch_run_page(conn, stmt, order_by, offset, limit)
            assert page == expected[offset : offset + limit], (limit, offset)


# A store of 20,000 runs: every hot search must stay far from a scan of everything.

RUNS = 20_000
BOUND_SECONDS = 1.5  # each search here takes ~0.05-0.2 s at this size; a scan takes seconds


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqlTrackingStore, str]]:
    folder = tmp_path_factory.mktemp("big")
    store = SqlTrackingStore(f"sqlite:///{folder / 'heron.db'}", str(folder / "artifacts"))
    experiment_id = store.create_experiment("big")
    rng = random.Random(5)
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in ("runs", "p", "t", "m")}
    for i in range(RUNS):
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        rows["runs"].append(
            {
                "run_uuid": run_id,
                "experiment_id": int(experiment_id),
                "name": f"run-{i}",
                "user_id": "ann",
                "status": rng.choice(("FINISHED", "FINISHED", "FAILED")),
                "start_time": 1_700_000_000_000 + i * 1000,
                "end_time": None,
                "lifecycle_stage": "deleted" if i % 10 == 0 else "active",
                "artifact_uri": f"/a/{run_id}",
            }
        )
        for key, value in (("lr", rng.choice("12345")), ("model", rng.choice("abcdefghij"))):
            rows["p"].append({"run_uuid": run_id, "key": key, "value": value})
        rows["p"].append({"run_uuid": run_id, "key": "seed", "value": str(i)})
        rows["t"].append({"run_uuid": run_id, "key": "team", "value": rng.choice(("cv", "nlp"))})
        for key in ("acc", "loss", "f1"):
            point = {"value": rng.random(), "is_nan": False, "timestamp": 0, "step": 0}
            rows["m"].append({"run_uuid": run_id, "key": key, **point})
    tables = {"runs": schema.runs, "p": schema.params, "t": schema.tags, "m": schema.latest_metrics}
    with write_transaction(store.engine) as conn:
        for name, table in tables.items():
            conn.execute(insert(table), rows[name])
    yield store, experiment_id
    store.engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "order_by"),
    [
        (None, None),
        ("metrics.acc > 0.9", None),
        ("params.lr = '1' and metrics.loss < 0.5", None),
        ("tags.team = 'cv'", None),
        ("attributes.status = 'FINISHED'", None),
        ("params.model IN ('a','b') OR metrics.acc > 0.95", None),
        ("attributes.run_name ILIKE '%run-1999%'", None),
        ("params.seed = '12345'", None),
        ("metrics.acc > 0.999", None),
        (None, ["metrics.acc DESC"]),
        (None, ["params.lr"]),
        ("metrics.acc > 0.5", ["metrics.loss"]),
    ],
)
def test_searches_at_20000_runs_stay_fast(
    big_store: tuple[SqlTrackingStore, str], text: str | None, order_by: list[str] | None
) -> None:
    store, experiment_id = big_store
    store.search_runs([experiment_id], text, max_results=1000, order_by=order_by)  # warm
    started = time.perf_counter()
    page = store.search_runs([experiment_id], text, max_results=1000, order_by=order_by)
    assert time.perf_counter() - started < BOUND_SECONDS
    assert page or text in ("params.seed = '12345'", "metrics.acc > 0.999")


@pytest.mark.slow
def test_paging_deep_at_20000_runs_stays_fast(big_store: tuple[SqlTrackingStore, str]) -> None:
    store, experiment_id = big_store
    for order_by in (None, ["metrics.acc DESC"]):
        token, seen, started = None, 0, time.perf_counter()
        for _ in range(18):
            page = store.search_runs(
                [experiment_id], None, max_results=1000, order_by=order_by, page_token=token
            )
            seen, token = seen + len(page), page.token
        assert seen == RUNS * 9 // 10 and token is None
        assert time.perf_counter() - started < 18 * BOUND_SECONDS
