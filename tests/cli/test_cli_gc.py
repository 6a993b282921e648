"""``heron gc`` and permanent deletion through click's CliRunner: on a tracking folder
directly, and against a live server through Heron's /api/2.0/heron/ routes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from filesystem import undeletable
from heron.cli.main import cli
from heron.client import HeronClient
from servers import running_server


@dataclass
class Doomed:
    client: HeronClient
    experiment_id: str
    run_ids: list[str]


def heron(tracking: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--tracking-uri", tracking], input=input)


def ok(tracking: str, *args: str, input: str | None = None) -> Result:
    result = heron(tracking, *args, input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def doomed(tracking: str, name: str, runs: int = 2, size: int = 5) -> Doomed:
    """An experiment with ``runs`` runs of ``size`` artifact bytes each, then deleted."""
    client = HeronClient(tracking_uri=tracking)
    experiment_id = client.create_experiment(name)
    run_ids = []
    for _ in range(runs):
        run_id = client.create_run(experiment_id).info.run_id
        client.log_text(run_id, "x" * size, "notes.txt")
        run_ids.append(run_id)
    client.delete_experiment(experiment_id)
    return Doomed(client, experiment_id, run_ids)


@pytest.fixture
def folder(tmp_path: Path) -> str:
    return str(tmp_path / "t")


# ---- directly on the store -------------------------------------------------------------------


def test_a_dry_run_shows_what_would_go_and_deletes_nothing(folder: str) -> None:
    item = doomed(folder, "old")
    result = ok(folder, "gc", "--older-than", "0s", "--dry-run")
    assert "Dry run: would remove 1 experiment and 2 runs, freeing 10 B" in result.stdout
    assert "old" in result.stdout and item.experiment_id in result.stdout
    assert item.client.get_experiment(item.experiment_id).lifecycle_stage == "deleted"
    assert "Purging" not in result.stderr


def test_gc_asks_before_it_deletes(folder: str) -> None:
    item = doomed(folder, "old")
    refused = heron(folder, "gc", "--older-than", "0s", input="n\n")
    assert refused.exit_code == 1
    assert "would remove 1 experiment and 2 runs" in refused.stderr
    assert "cannot be undone" in refused.stderr
    assert item.client.get_experiment(item.experiment_id).name == "old"
    accepted = ok(folder, "gc", "--older-than", "0s", input="y\n")
    assert "Removed 1 experiment and 2 runs; freed 10 B of artifacts in 1 folder." in (
        accepted.stdout
    )
    assert item.client.get_experiment_by_name("old") is None


def test_gc_purges_with_a_progress_bar_and_frees_the_name(folder: str) -> None:
    item = doomed(folder, "old", runs=3, size=100)
    result = ok(folder, "gc", "--older-than", "0s", "--yes")
    assert "Removed 1 experiment and 3 runs; freed 300 B" in result.stdout
    assert "Purging" in result.stderr  # click's bar on stderr (a label only, off a terminal)
    assert item.client.get_experiment_by_name("old") is None
    ok(folder, "experiments", "create", "old")


def test_the_age_is_respected(folder: str) -> None:
    item = doomed(folder, "recent")
    result = ok(folder, "gc", "--older-than", "30d", "--yes")
    assert "Nothing was deleted long enough ago to remove." in result.stdout
    assert item.client.get_experiment(item.experiment_id).lifecycle_stage == "deleted"
    unasked = ok(folder, "gc", "--older-than", "1h", "--json")  # nothing to confirm
    assert "cannot be undone" not in unasked.stderr
    assert json.loads(unasked.stdout)["dry_run"] is False


def test_the_json_report(folder: str) -> None:
    first, second = doomed(folder, "first"), doomed(folder, "second", runs=1)
    args = ["gc", "--older-than", "0s", "--experiment-id", first.experiment_id, "--json", "-y"]
    report = json.loads(ok(folder, *args).stdout)
    assert report["dry_run"] is False
    assert (report["experiments"], report["runs"], report["artifact_bytes"]) == (1, 2, 10)
    assert report["experiment_names"] == {first.experiment_id: "first"}
    assert report["errors"] == [] and report["skipped"] == []
    assert second.client.get_experiment(second.experiment_id).name == "second"


@pytest.mark.parametrize("age", ["30", "5x", "-1d", "d", "1.5h"])
def test_a_bad_age_is_a_usage_error(folder: str, age: str) -> None:
    result = heron(folder, "gc", "--older-than", age)
    assert result.exit_code == 2
    assert "is not an age" in result.stderr


def test_the_age_is_required(folder: str) -> None:
    result = heron(folder, "gc")
    assert result.exit_code == 2 and "--older-than" in result.stderr


def test_an_unknown_experiment_is_an_error(folder: str) -> None:
    result = heron(folder, "gc", "--older-than", "0s", "--experiment-id", "999", "--yes")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "999" in result.stderr


def test_artifacts_that_cannot_be_deleted_exit_1(folder: str) -> None:
    client = HeronClient(tracking_uri=folder)
    run = client.create_run("0")
    client.log_text(run.info.run_id, "stuck", "sub/f.txt")
    client.delete_run(run.info.run_id)
    with undeletable(Path(run.info.artifact_uri) / "sub"):
        result = heron(folder, "gc", "--older-than", "0s", "--yes")
    assert result.exit_code == 1
    assert "Removed 0 experiments and 1 run" in result.stdout  # the rows went first
    assert "Could not delete" in result.stderr
    assert "Error: the artifacts at 1 location could not be deleted" in result.stderr


def test_soft_delete_says_how_many_runs_went(folder: str) -> None:
    client = HeronClient(tracking_uri=folder)
    experiment_id = client.create_experiment("counted")
    for _ in range(3):
        client.create_run(experiment_id)
    result = ok(folder, "experiments", "delete", experiment_id)
    assert f"Deleted experiment {experiment_id} (counted) and 3 active runs;" in result.stdout


# ---- against a live server -------------------------------------------------------------------


def test_a_remote_dry_run(live_server: str) -> None:
    item = doomed(live_server, "remote dry")
    args = ["gc", "--older-than", "0s", "--experiment-id", item.experiment_id, "--dry-run"]
    result = ok(live_server, *args)
    assert "Dry run: would remove 1 experiment and 2 runs, freeing 10 B" in result.stdout
    assert item.client.get_experiment(item.experiment_id).lifecycle_stage == "deleted"


def test_a_remote_gc_deletes_rows_and_served_artifacts(live_server: str) -> None:
    item = doomed(live_server, "remote real", runs=2, size=50)
    repo = item.client.backend.artifact_repository(f"mlflow-artifacts:/{item.experiment_id}")
    assert repo.exists(f"{item.run_ids[0]}/artifacts/notes.txt")
    args = ["gc", "--older-than", "0s", "--experiment-id", item.experiment_id, "--yes"]
    result = ok(live_server, *args)
    assert "Removed 1 experiment and 2 runs; freed 100 B of artifacts in 1 folder." in (
        result.stdout
    )
    assert "Purging" not in result.stderr  # the server does it in one request
    assert item.client.get_experiment_by_name("remote real") is None
    assert not repo.exists(item.run_ids[0])


def test_a_remote_gc_asks_first_and_reports_json(live_server: str) -> None:
    item = doomed(live_server, "remote json", runs=1)
    args = ["gc", "--older-than", "0s", "--experiment-id", item.experiment_id]
    refused = heron(live_server, *args, input="n\n")
    assert refused.exit_code == 1 and "cannot be undone" in refused.stderr
    report: dict[str, Any] = json.loads(ok(live_server, *args, "--json", input="y\n").stdout)
    assert (report["experiments"], report["runs"], report["artifact_bytes"]) == (1, 1, 5)
    assert report["experiment_names"] == {item.experiment_id: "remote json"}


def test_permanent_delete_works_against_a_server(live_server: str) -> None:
    client = HeronClient(tracking_uri=live_server)
    experiment_id = client.create_experiment("remote purge")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_text(run_id, "abc", "a.txt")
    result = ok(live_server, "experiments", "delete", experiment_id, "--permanent", "--yes")
    assert (
        f"Permanently deleted experiment {experiment_id} (remote purge): 1 run, "
        "3 B of artifacts freed." in result.stdout
    )
    assert client.get_experiment_by_name("remote purge") is None
    assert ok(live_server, "experiments", "create", "remote purge").stdout.strip()


def test_soft_delete_against_a_server(live_server: str) -> None:
    client = HeronClient(tracking_uri=live_server)
    experiment_id = client.create_experiment("remote soft")
    client.create_run(experiment_id)
    result = ok(live_server, "experiments", "delete", experiment_id)
    assert "and its active runs" in result.stdout  # MLflow's answer carries no count


def test_direct_gc_on_a_served_store_leaves_served_runs_to_the_server(tmp_path: Path) -> None:
    with running_server(tmp_path) as url:
        item = doomed(url, "served", runs=2)
        store = str(tmp_path / "store")
        direct = ok(store, "gc", "--older-than", "0s", "--yes")
        assert "Nothing was deleted long enough ago to remove." in direct.stdout
        assert f"Skipped experiment {item.experiment_id} and its 2 runs" in direct.stderr
        assert "tracking server" in direct.stderr
        remote = ok(url, "gc", "--older-than", "0s", "--yes")
        assert "Removed 1 experiment and 2 runs; freed 10 B" in remote.stdout
