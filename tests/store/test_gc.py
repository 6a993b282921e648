"""Garbage collection on every database: what goes (old deleted runs and experiments, their
rows and files), what never does (active runs, the Default experiment, anything restored),
and that every failure is in the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import update

from filesystem import undeletable
from heron.backends.local import LocalBackend
from heron.entities import Metric, Param
from heron.exceptions import HeronException
from heron.store import schema as s
from heron.store.base import now_ms

DAY_MS = 24 * 60 * 60 * 1000


def backdate(
    store: LocalBackend, days: int, runs: Sequence[str] = (), experiments: Sequence[str] = ()
) -> None:
    """Pretend these were deleted ``days`` ago."""
    when = now_ms() - days * DAY_MS
    with store.engine.begin() as conn:
        if runs:
            conn.execute(
                update(s.runs).where(s.runs.c.run_uuid.in_(runs)).values(deleted_time=when)
            )
        if experiments:
            keys = [int(e) for e in experiments]
            table = s.experiments
            conn.execute(
                update(table).where(table.c.experiment_id.in_(keys)).values(deleted_time=when)
            )
            conn.execute(
                update(s.runs).where(s.runs.c.experiment_id.in_(keys)).values(deleted_time=when)
            )


def run_with_files(store: LocalBackend, experiment_id: str, data: bytes = b"12345") -> str:
    run = store.create_run(experiment_id)
    run_id = run.info.run_id
    store.log_batch(run_id, metrics=[Metric("loss", 0.5, 1, 0)], params=[Param("lr", "0.1")])
    store.artifact_repository(run.info.artifact_uri).log_bytes(data, "model/weights.bin")
    return run_id


def exists(store: LocalBackend, run_id: str) -> bool:
    try:
        store.get_run(run_id)
    except HeronException as exc:
        assert exc.error_code == "RESOURCE_DOES_NOT_EXIST"
        return False
    return True


def run_folder(store: LocalBackend, run_id: str) -> Path:
    return Path(store.get_run(run_id).info.artifact_uri).parent


def test_the_age_cutoff_is_respected(store: LocalBackend) -> None:
    old, recent = run_with_files(store, "0"), run_with_files(store, "0")
    store.delete_run(old)
    store.delete_run(recent)
    backdate(store, 40, runs=[old])
    backdate(store, 10, runs=[recent])
    report = store.gc(30 * DAY_MS)
    assert (report["runs"], report["experiments"], report["errors"]) == (1, 0, [])
    assert not exists(store, old) and exists(store, recent)
    assert store.gc(5 * DAY_MS)["runs"] == 1
    assert not exists(store, recent)


def test_active_runs_are_never_touched(store: LocalBackend) -> None:
    experiment = store.create_experiment("busy")
    active = run_with_files(store, experiment)
    folder = run_folder(store, active)
    report = store.gc(0)
    assert (report["runs"], report["experiments"], report["artifact_bytes"]) == (0, 0, 0)
    assert store.get_run(active).data.params == {"lr": "0.1"}
    assert (folder / "artifacts/model/weights.bin").read_bytes() == b"12345"


def test_deleted_runs_of_an_active_experiment_are_purged(store: LocalBackend) -> None:
    experiment = store.create_experiment("keeps")
    gone, stays = run_with_files(store, experiment), run_with_files(store, experiment)
    folder = run_folder(store, gone)
    store.delete_run(gone)
    report = store.gc(0)
    assert (report["runs"], report["experiments"]) == (1, 0)
    assert not exists(store, gone) and exists(store, stays)
    assert store.get_experiment(experiment).lifecycle_stage == "active"
    assert not folder.exists()  # the run's own folder too, not only its artifacts/


def test_a_deleted_experiment_goes_with_its_runs_and_frees_its_name(store: LocalBackend) -> None:
    experiment = store.create_experiment("old", tags={"team": "a"})
    runs = [run_with_files(store, experiment) for _ in range(3)]
    location = Path(store.get_experiment(experiment).artifact_location)
    assert store.delete_experiment(experiment) == 3
    report = store.gc(0)
    assert (report["experiments"], report["runs"]) == (1, 3)
    assert report["experiment_names"] == {experiment: "old"}
    assert report["artifact_bytes"] == 15 and report["artifact_locations"] == 1
    assert not any(exists(store, r) for r in runs)
    assert store.get_experiment_by_name("old") is None
    assert not location.exists()
    assert store.create_experiment("old") != experiment


def test_a_recently_deleted_experiment_stays_but_its_old_deleted_runs_go(
    store: LocalBackend,
) -> None:
    experiment = store.create_experiment("recent")
    early, late = run_with_files(store, experiment), run_with_files(store, experiment)
    store.delete_run(early)
    backdate(store, 40, runs=[early])
    store.delete_experiment(experiment)
    report = store.gc(30 * DAY_MS)
    assert (report["experiments"], report["runs"]) == (0, 1)
    assert not exists(store, early) and exists(store, late)
    assert store.get_experiment(experiment).lifecycle_stage == "deleted"


def test_the_default_experiment_is_never_purged(store: LocalBackend) -> None:
    run_id = run_with_files(store, "0")
    store.delete_experiment("0")
    report = store.gc(0)
    assert (report["experiments"], report["runs"]) == (0, 1)
    assert store.get_experiment("0").name == "Default"
    assert not exists(store, run_id)
    with pytest.raises(HeronException, match="Default"):
        store.purge_experiment("0")


def test_a_dry_run_changes_nothing(store: LocalBackend) -> None:
    experiment = store.create_experiment("dry")
    runs = [run_with_files(store, experiment, b"x" * 100) for _ in range(2)]
    lone = run_with_files(store, "0", b"y" * 7)
    store.delete_run(lone)
    store.delete_experiment(experiment)
    report = store.gc(0, dry_run=True)
    assert report["dry_run"] is True
    assert (report["experiments"], report["runs"], report["artifact_bytes"]) == (1, 3, 207)
    assert all(exists(store, r) for r in [*runs, lone])
    assert (run_folder(store, lone) / "artifacts/model/weights.bin").exists()
    assert store.get_experiment(experiment).lifecycle_stage == "deleted"
    real = store.gc(0)
    assert {k: real[k] for k in ("experiments", "runs", "artifact_bytes")} == {
        k: report[k] for k in ("experiments", "runs", "artifact_bytes")
    }


def test_experiment_ids_limit_the_collection(store: LocalBackend) -> None:
    first, second = store.create_experiment("first"), store.create_experiment("second")
    kept = run_with_files(store, second)
    run_with_files(store, first)
    store.delete_experiment(first)
    store.delete_experiment(second)
    report = store.gc(0, experiment_ids=[first])
    assert (report["experiments"], report["runs"]) == (1, 1)
    assert exists(store, kept)
    with pytest.raises(HeronException) as excinfo:
        store.gc(0, experiment_ids=["424242"])
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(HeronException, match="leave it out"):
        store.gc(0, experiment_ids=[])
    with pytest.raises(HeronException, match="negative"):
        store.gc(-1)


def test_a_restore_during_a_purge_keeps_what_it_restored(store: LocalBackend) -> None:
    experiment = store.create_experiment("second thoughts")
    run_id = run_with_files(store, experiment)
    store.delete_experiment(experiment)
    plan = store.gc_candidates(0)
    store.restore_experiment(experiment)
    purged = store.purge(plan)
    assert not purged.experiment_ids and not purged.run_ids
    assert store.get_run(run_id).data.params == {"lr": "0.1"}


def test_a_shared_artifact_location_is_kept(store: LocalBackend, tmp_path: Path) -> None:
    shared = str(tmp_path / "shared")
    gone = store.create_experiment("gone", artifact_location=shared)
    stays = store.create_experiment("stays", artifact_location=shared)
    gone_run, stays_run = run_with_files(store, gone), run_with_files(store, stays)
    gone_folder = run_folder(store, gone_run)
    store.delete_experiment(gone)
    report = store.gc(0)
    assert (report["experiments"], report["runs"], report["artifact_bytes"]) == (1, 1, 5)
    assert report["kept_locations"][0]["uri"] == shared
    assert not gone_folder.exists()
    assert (run_folder(store, stays_run) / "artifacts/model/weights.bin").exists()


def test_progress_reaches_the_total(store: LocalBackend) -> None:
    experiment = store.create_experiment("watched")
    for _ in range(3):
        run_with_files(store, experiment)
    store.delete_experiment(experiment)
    seen: list[tuple[int, int]] = []
    store.gc(0, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_proxied_artifacts_need_the_servers_destination(
    store: LocalBackend, db_uri: str, tmp_path: Path
) -> None:
    experiment = store.create_experiment("served", artifact_location="mlflow-artifacts:/served")
    run_id = store.create_run(experiment).info.run_id
    store.delete_experiment(experiment)
    report = store.gc(0)
    assert (report["experiments"], report["runs"]) == (0, 0)
    [skipped] = report["skipped"]
    assert skipped["experiment_id"] == experiment and skipped["runs"] == 1
    assert "tracking server" in skipped["reason"]
    assert exists(store, run_id)  # kept, so the server can still collect it with its files
    with pytest.raises(HeronException, match="tracking server"):
        store.purge_experiment(experiment)
    assert exists(store, run_id)

    destination = tmp_path / "destination"
    (destination / "served" / run_id / "artifacts").mkdir(parents=True)
    (destination / "served" / run_id / "artifacts" / "f.txt").write_bytes(b"abc")
    server_side = LocalBackend(db_uri, db_uri, "mlflow-artifacts:", None, str(destination))
    try:
        report = server_side.gc(0)
    finally:
        server_side.close()
    assert (report["experiments"], report["runs"], report["artifact_bytes"]) == (1, 1, 3)
    assert not (destination / "served").exists() and destination.exists()


def test_a_failing_artifact_deletion_is_reported(store: LocalBackend) -> None:
    experiment = store.create_experiment("stuck")
    run_id = run_with_files(store, experiment)
    files = run_folder(store, run_id) / "artifacts" / "model"
    store.delete_run(run_id)
    with undeletable(files):
        report = store.gc(0)
    assert report["runs"] == 1 and not exists(store, run_id)  # rows first, then files
    [error] = report["errors"]
    assert error["uri"].endswith(run_id) and error["message"]
    assert report["artifact_bytes"] == 0 and report["artifact_locations"] == 0


def test_a_location_outside_the_destination_is_never_deleted(
    store: LocalBackend, db_uri: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "precious.txt").parent.mkdir(parents=True)
    (outside / "precious.txt").write_text("keep me")
    sneaky = "mlflow-artifacts:/../outside"
    experiment = store.create_experiment("sneaky", artifact_location=sneaky)
    store.create_run(experiment)
    store.delete_experiment(experiment)
    destination = tmp_path / "destination"
    destination.mkdir()
    server_side = LocalBackend(db_uri, db_uri, "mlflow-artifacts:", None, str(destination))
    try:
        report = server_side.gc(0)
    finally:
        server_side.close()
    assert (report["experiments"], report["runs"]) == (0, 0)
    assert "'..'" in report["skipped"][0]["reason"]
    assert (outside / "precious.txt").read_text() == "keep me"
