"""An experiment with 10,000 runs: deleted in one statement, and purged by gc in bounded
batches, on every database. The runs are inserted with bulk Core inserts (10,000
create_run calls would test the setup, not the deletion)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from heron.backends.local import LocalBackend
from heron.store import schema as s
from heron.store.base import now_ms
from heron.store.gc import PURGE_BATCH

RUNS = 10_000
WITH_FILES = 100  # every 100th run has an artifact file
pytestmark = pytest.mark.slow


def bulk_runs(store: LocalBackend, experiment_id: str) -> list[str]:
    """RUNS active runs, each with a name tag, a param and a metric (history and latest)."""
    location = store.get_experiment(experiment_id).artifact_location
    ids = [uuid.uuid4().hex for _ in range(RUNS)]
    start = now_ms()
    runs = [
        {
            "run_uuid": run_id,
            "experiment_id": int(experiment_id),
            "name": f"run-{i}",
            "user_id": "bulk",
            "status": "FINISHED",
            "start_time": start + i,
            "end_time": start + i + 1,
            "lifecycle_stage": "active",
            "artifact_uri": f"{location}/{run_id}/artifacts",
        }
        for i, run_id in enumerate(ids)
    ]
    point = {"key": "loss", "value": 0.5, "is_nan": False, "timestamp": start, "step": 0}
    with store.engine.begin() as conn:
        conn.execute(insert(s.runs), runs)
        conn.execute(
            insert(s.tags),
            [
                {"run_uuid": r, "key": "mlflow.runName", "value": f"run-{i}"}
                for i, r in enumerate(ids)
            ],
        )
        conn.execute(insert(s.params), [{"run_uuid": r, "key": "lr", "value": "0.1"} for r in ids])
        conn.execute(insert(s.metrics), [{"run_uuid": r, **point} for r in ids])
        conn.execute(insert(s.latest_metrics), [{"run_uuid": r, **point} for r in ids])
    for run_id in ids[::WITH_FILES]:
        folder = Path(location) / run_id / "artifacts"
        folder.mkdir(parents=True)
        (folder / "model.bin").write_bytes(b"x" * 1000)
    return ids


def count(store: LocalBackend, table: s.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_ten_thousand_runs_are_deleted_and_purged_quickly(
    store: LocalBackend, db_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = store.create_experiment("at scale")
    bulk_runs(store, experiment)
    location = Path(store.get_experiment(experiment).artifact_location)

    started = time.perf_counter()
    deleted = store.delete_experiment(experiment)
    delete_seconds = time.perf_counter() - started
    assert deleted == RUNS
    assert delete_seconds < 5, f"deleting {RUNS} runs took {delete_seconds:.1f} s"

    batches: list[tuple[int, int]] = []
    started = time.perf_counter()
    report = store.gc(0, progress=lambda done, total: batches.append((done, total)))
    purge_seconds = time.perf_counter() - started
    assert (report["experiments"], report["runs"], report["errors"]) == (1, RUNS, [])
    assert report["artifact_bytes"] == RUNS // WITH_FILES * 1000
    assert purge_seconds < 30, f"purging {RUNS} runs took {purge_seconds:.1f} s"
    # Bounded transactions: one per PURGE_BATCH runs, one for the experiment, one folder.
    assert len(batches) == RUNS // PURGE_BATCH + 2
    for table in (s.runs, s.tags, s.params, s.metrics, s.latest_metrics):
        assert count(store, table) == 0, table.name
    assert store.get_experiment_by_name("at scale") is None
    assert not location.exists()
    with capsys.disabled():
        dialect = store.engine.dialect.name
        print(f"\n{dialect}: delete {delete_seconds:.3f} s, gc purge {purge_seconds:.3f} s")
