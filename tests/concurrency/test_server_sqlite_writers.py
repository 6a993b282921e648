"""32 concurrent writers through `heron server --workers 4` on one SQLite file.

The same crowd as on PostgreSQL: four processes share the file and take turns writing
(``BEGIN IMMEDIATE`` and a busy timeout), so no writer may see "database is locked" or any
other error, and every point must be stored exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crowd import POINTS, answers, check_every_point_once, heron_writer, mlflow_writer, run_crowd

from servers import running_server

WORKERS = 4
WRITERS_PER_CLIENT = 16


@pytest.mark.slow
def test_four_workers_on_one_sqlite_file_take_32_writers(tmp_path: Path) -> None:
    with running_server(tmp_path, "--workers", str(WORKERS)) as url:
        writers = [(mlflow_writer, "mlflow", (url,))] * WRITERS_PER_CLIENT
        writers += [(heron_writer, "heron", (url,))] * WRITERS_PER_CLIENT
        crowd = run_crowd(writers, str(tmp_path))
    assert crowd.errors == []
    points = check_every_point_once(f"sqlite:///{tmp_path / 'store' / 'heron.db'}", crowd)
    assert points == len(writers) * POINTS
    statuses = answers(tmp_path / "server.log")
    assert not [s for s in statuses if s >= 500], statuses
    print(
        f"\nSQLite, {WORKERS} workers: {crowd.summary(points)}; "
        f"{sum(statuses.values())} requests {dict(statuses)}"
    )
