"""One populated database per backend, shared by the search tests: they only read it.

PostgreSQL runs on a throwaway database on the server named by HERON_TEST_POSTGRES_URL
(default: the local test server); the cases are skipped when psycopg is not installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, Table
from sqlalchemy.engine import URL, make_url

from databases import scratch_database
from heron.store import schema
from heron.store.engine import create_store_engine, write_transaction
from heron.store.schema_version import ensure_schema

POSTGRES_ENV = "HERON_TEST_POSTGRES_URL"
MYSQL_ENV = "HERON_TEST_MYSQL_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

EXPERIMENTS = [
    {"experiment_id": 1, "name": "alpha", "creation_time": 1000, "last_update_time": 1500},
    {"experiment_id": 2, "name": "beta", "creation_time": 2000, "last_update_time": 2000},
    {"experiment_id": 3, "name": "gamma", "creation_time": 3000, "last_update_time": 3500},
]
EXPERIMENT_TAGS = [(1, "owner", "ann"), (1, "stage", "prod"), (2, "owner", "Ann")]

# r3 and r4 start at the same time, so the run_uuid tie-breaker decides between them.
RUNS = [
    {"run_uuid": "r1", "name": "train-A", "user_id": "alice", "status": "FINISHED",
     "start_time": 100, "end_time": 200, "experiment_id": 1},
    {"run_uuid": "r2", "name": "train-b", "user_id": "bob", "status": "RUNNING",
     "start_time": 200, "end_time": None, "experiment_id": 1},
    {"run_uuid": "r3", "name": "eval", "user_id": "alice", "status": "FAILED",
     "start_time": 300, "end_time": 400, "experiment_id": 1},
    {"run_uuid": "r4", "name": "other", "user_id": "carol", "status": "FINISHED",
     "start_time": 300, "end_time": 500, "experiment_id": 2},
]  # fmt: skip
NAN = None  # latest_metrics keeps NaN as value NULL with is_nan true
METRICS = [("r1", "acc", 0.9), ("r1", "loss", 0.1), ("r2", "acc", 0.7), ("r2", "loss", NAN),
           ("r3", "acc", 0.8)]  # fmt: skip
PARAMS = [("r1", "lr", "0.01"), ("r1", "model", "cnn"), ("r2", "lr", "0.1"),
          ("r2", "model", "rnn"), ("r3", "model", "CNN")]  # fmt: skip
TAGS = [("r1", "team", "Vision"), ("r1", "priority", "high"), ("r1", "note", "50%_off"),
        ("r2", "team", "vision"), ("r2", "note", "50x_off")]  # fmt: skip
# (run, dataset name, digest, context)
INPUTS = [("r1", "mnist", "d1", "training"), ("r2", "cifar", "d2", "eval"),
          ("r3", "mnist", "d1", "eval")]  # fmt: skip


@pytest.fixture(scope="session", params=["sqlite", "postgresql", "mysql"])
def search_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path_factory.mktemp('search') / 'heron.db'}"
        yield _populated_engine(uri)
    elif request.param == "postgresql":
        yield from _postgres_engine()
    else:
        yield from _mysql_engine()


def _populated_engine(uri: str) -> Engine:
    engine = create_store_engine(uri)
    ensure_schema(engine, uri)
    with write_transaction(engine) as conn:
        for table, rows in _rows().items():
            conn.execute(table.insert(), rows)
    return engine


def _rows() -> dict[Table, list[dict[str, Any]]]:
    """Rows in insertion order, parents before children."""
    datasets = {(name, digest) for _run, name, digest, _context in INPUTS}
    return {
        schema.experiments: [
            {**row, "artifact_location": f"/a/{row['name']}", "lifecycle_stage": "active"}
            for row in EXPERIMENTS
        ],
        schema.experiment_tags: [
            {"experiment_id": e, "key": k, "value": v} for e, k, v in EXPERIMENT_TAGS
        ],
        schema.runs: [
            {**row, "lifecycle_stage": "active", "artifact_uri": f"/a/{row['run_uuid']}/artifacts"}
            for row in RUNS
        ],
        schema.latest_metrics: [
            {"run_uuid": r, "key": k, "value": v, "is_nan": v is None, "timestamp": 0, "step": 0}
            for r, k, v in METRICS
        ],
        schema.params: [{"run_uuid": r, "key": k, "value": v} for r, k, v in PARAMS],
        schema.tags: [{"run_uuid": r, "key": k, "value": v} for r, k, v in TAGS],
        schema.datasets: [
            {
                "dataset_uuid": f"{name}-{digest}",
                "experiment_id": 1,
                "name": name,
                "digest": digest,
                "source_type": "local",
                "source": "{}",
            }
            for name, digest in sorted(datasets)
        ],
        schema.run_inputs: [
            {"input_uuid": f"in-{r}-{n}", "run_uuid": r, "dataset_uuid": f"{n}-{d}"}
            for r, n, d, _c in INPUTS
        ],
        schema.input_tags: [
            {"input_uuid": f"in-{r}-{n}", "key": "mlflow.data.context", "value": c}
            for r, n, _d, c in INPUTS
        ],
    }


def _postgres_engine() -> Iterator[Engine]:
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("PostgreSQL search tests need psycopg (pip install 'psycopg[binary]')")
    url = _psycopg_url(os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES_URL)
    yield from _scratch_engine(url.render_as_string(hide_password=False), optional=True)


def _mysql_engine() -> Iterator[Engine]:
    raw = os.environ.get(MYSQL_ENV)
    if not raw:
        pytest.skip(f"MySQL / MariaDB search tests need {MYSQL_ENV}")
    yield from _scratch_engine(raw, optional=False)


def _scratch_engine(server_url: str, optional: bool) -> Iterator[Engine]:
    """A populated engine on a fresh database; ``optional`` servers may be absent (skip)."""
    with contextlib.ExitStack() as stack:
        try:
            db_uri = stack.enter_context(scratch_database(server_url, "heron_search"))
        except Exception as exc:
            if not optional:
                raise
            pytest.skip(f"no database server at {server_url!r}: {exc}")
        engine = _populated_engine(db_uri)
        try:
            yield engine
        finally:
            engine.dispose()


def _psycopg_url(raw: str) -> URL:
    url = make_url(raw)
    # A bare postgresql:// URL would pick psycopg2, which Heron does not use.
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url
