"""32 concurrent writers through `heron server --workers 4` on PostgreSQL.

Half use the real mlflow client, half Heron's client over HTTP; all set the same experiment
by name at one moment, then log batches and single points. No writer may see an error, the
server may answer no 5xx, every point must be stored exactly once, and the server must
never hold more than workers x (db-pool-size + db-max-overflow) connections.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crowd import (
    POINTS,
    ConnectionCounter,
    answers,
    check_every_point_once,
    heron_writer,
    mlflow_writer,
    run_crowd,
)

from servers import running_server

WORKERS = 4
WRITERS_PER_CLIENT = 16
# Smaller than the defaults, so that 32 writers over 4 workers press against the bound.
POOL_SIZE, MAX_OVERFLOW = 2, 3


@pytest.mark.slow
@pytest.mark.parametrize("db_uri", ["postgresql"], indirect=True)
def test_four_workers_on_postgresql_take_32_writers(db_uri: str, tmp_path: Path) -> None:
    bound = WORKERS * (POOL_SIZE + MAX_OVERFLOW)
    options = ("--workers", str(WORKERS), "--db-pool-size", str(POOL_SIZE))
    options += ("--db-max-overflow", str(MAX_OVERFLOW))
    with running_server(tmp_path, *options, store_uri=db_uri) as url:
        writers = [(mlflow_writer, "mlflow", (url,))] * WRITERS_PER_CLIENT
        writers += [(heron_writer, "heron", (url,))] * WRITERS_PER_CLIENT
        with ConnectionCounter(db_uri) as connections:
            crowd = run_crowd(writers, str(tmp_path))
    assert crowd.errors == []
    points = check_every_point_once(db_uri, crowd)
    assert points == len(writers) * POINTS
    statuses = answers(tmp_path / "server.log")
    assert not [s for s in statuses if s >= 500], statuses
    assert connections.samples > 0 and 0 < connections.most <= bound
    print(
        f"\nPostgreSQL, {WORKERS} workers: {crowd.summary(points)}; "
        f"{sum(statuses.values())} requests {dict(statuses)}; "
        f"at most {connections.most} of {bound} connections"
    )
