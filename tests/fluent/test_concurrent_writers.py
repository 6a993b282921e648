"""Many processes writing one SQLite file at the same moment: no "database is locked"."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

PROCESSES = 8
POINTS = 2000


def _writer(folder: str, barrier, index: int, errors) -> None:  # type: ignore[no-untyped-def]
    import heron

    heron.set_tracking_uri(folder)
    barrier.wait()  # every process opens the brand-new store at the same moment
    try:
        heron.set_experiment("crowd")
        with heron.start_run(run_name=f"writer-{index}"):
            for step in range(POINTS):
                heron.log_metric("loss", 1.0 / (step + 1), step=step)
    except Exception as exc:  # counted by the parent, which fails the test
        errors.append(f"{index}: {type(exc).__name__}: {exc}")


@pytest.mark.slow
@pytest.mark.local_only
def test_eight_processes_log_into_one_sqlite_file(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    ctx = mp.get_context("spawn")
    manager = ctx.Manager()
    barrier, errors = manager.Barrier(PROCESSES), manager.list()
    procs = [
        ctx.Process(target=_writer, args=(str(folder), barrier, i, errors))
        for i in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    assert list(errors) == []
    db = sqlite3.connect(folder / "heron.db")
    assert db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == PROCESSES * POINTS
    assert db.execute("SELECT COUNT(*) FROM runs WHERE status = 'FINISHED'").fetchone()[0] == 8
    assert db.execute("SELECT COUNT(*) FROM experiments WHERE name = 'crowd'").fetchone()[0] == 1
