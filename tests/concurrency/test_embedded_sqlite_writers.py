"""16 processes writing one SQLite folder store directly, with no server.

Every process opens the brand-new folder, sets the same experiment by name and logs batches
and single points at the same moment (tests/fluent/test_concurrent_writers.py does 8
processes with 2,000 single points each).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crowd import POINTS, check_every_point_once, heron_writer, run_crowd

WRITERS = 16


@pytest.mark.slow
def test_sixteen_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    crowd = run_crowd([(heron_writer, "embedded", (str(folder),))] * WRITERS, str(tmp_path))
    assert crowd.errors == []
    points = check_every_point_once(f"sqlite:///{folder / 'heron.db'}", crowd)
    assert points == WRITERS * POINTS
    print(f"\nSQLite, embedded: {crowd.summary(points)}")
