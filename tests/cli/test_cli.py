"""The ``heron`` command, driven through click's CliRunner against a tmp_path tracking folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import heron.backends
from heron.cli import output
from heron.cli.main import cli
from heron.client import HeronClient
from heron.entities import Dataset
from heron.store.schema_version import head_revision
from heron.version import VERSION

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@dataclass
class Seed:
    client: HeronClient
    alpha: str  # experiment with two runs, one of which logged an artifact and a dataset
    beta: str  # experiment with one run
    first: str
    second: str
    other: str


@pytest.fixture(autouse=True)
def _no_tracking_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HERON_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tracking(tmp_path: Path) -> Any:
    yield str(tmp_path / "t")
    heron.backends.close_all()


@pytest.fixture
def seed(tracking: str) -> Seed:
    client = HeronClient(tracking_uri=tracking)
    alpha = client.create_experiment("alpha", tags={"team": "vision"})
    beta = client.create_experiment("beta")
    first = client.create_run(alpha, run_name="first", tags={"note": "hello"}).info.run_id
    client.log_param(first, "lr", 0.1)
    client.log_metric(first, "loss", 0.5, step=0)
    client.log_metric(first, "loss", 0.25, step=1)
    client.log_text(first, "hi", "notes/a.txt")
    dataset = Dataset("train", "abc123", "local", "/data/train.csv")
    client.log_input(first, dataset, context="training")
    client.set_terminated(first)
    second = client.create_run(alpha, run_name="second").info.run_id
    client.log_param(second, "lr", 0.2)
    other = client.create_run(beta, run_name="other").info.run_id
    return Seed(client, alpha, beta, first, second, other)


def run(tracking: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--tracking-uri", tracking], input=input)


def ok(tracking: str, *args: str, input: str | None = None) -> Result:
    result = run(tracking, *args, input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def as_json(tracking: str, *args: str) -> Any:
    return json.loads(ok(tracking, *args, "--json").stdout)


def assert_error(result: Result, fragment: str, exit_code: int = 1) -> None:
    assert result.exit_code == exit_code, result.output
    assert "Error:" in result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def table_rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


# ---- the root command ---------------------------------------------------------------------


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"heron {VERSION}\n"


def test_console_script_prints_the_version() -> None:
    script = shutil.which("heron", path=os.path.dirname(sys.executable)) or shutil.which("heron")
    assert script, "the heron console script is not installed (pip install -e .)"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"heron {VERSION}"


def test_help_lists_the_groups() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for group in ("experiments", "runs", "artifacts", "db"):
        assert group in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["experiments", "frobnicate"])
    assert result.exit_code == 2
    assert "No such command" in result.stderr


# ---- experiments --------------------------------------------------------------------------


def test_create_prints_the_new_id(tracking: str) -> None:
    result = ok(tracking, "experiments", "create", "gamma", "--tag", "a=1", "--tag", "b=x=y")
    experiment_id = result.stdout.strip()
    experiment = HeronClient(tracking).get_experiment(experiment_id)
    assert experiment.name == "gamma"
    assert experiment.tags == {"a": "1", "b": "x=y"}


def test_create_json_and_artifact_location(tracking: str, tmp_path: Path) -> None:
    location = str(tmp_path / "elsewhere")
    out = as_json(tracking, "experiments", "create", "delta", "--artifact-location", location)
    assert HeronClient(tracking).get_experiment(out["experiment_id"]).artifact_location == location


def test_create_refuses_a_malformed_tag(tracking: str) -> None:
    result = run(tracking, "experiments", "create", "x", "--tag", "novalue")
    assert result.exit_code == 2
    assert "key=value" in result.stderr


def test_create_an_existing_name_is_an_error(seed: Seed, tracking: str) -> None:
    assert_error(run(tracking, "experiments", "create", "alpha"), "already exists")


def test_list_shows_a_table(seed: Seed, tracking: str) -> None:
    rows = table_rows(ok(tracking, "experiments", "list").stdout)
    assert rows[0] == ["ID", "NAME", "STAGE", "ARTIFACT LOCATION", "CREATED"]
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"Default", "alpha", "beta"}
    assert by_name["alpha"][0] == seed.alpha
    assert by_name["alpha"][2] == "active"
    assert by_name["alpha"][3] == seed.client.get_experiment(seed.alpha).artifact_location
    assert TIMESTAMP.fullmatch(by_name["alpha"][4])


def test_list_json_is_the_api_form(seed: Seed, tracking: str) -> None:
    expected = [e.to_dict() for e in seed.client.search_experiments()]
    assert as_json(tracking, "experiments", "list") == expected


def test_list_filter_order_and_limit(seed: Seed, tracking: str) -> None:
    names = [e["name"] for e in as_json(tracking, "experiments", "list", "--order-by", "name")]
    assert names == ["Default", "alpha", "beta"]
    filtered = as_json(tracking, "experiments", "list", "--filter", "name = 'beta'")
    assert [e["experiment_id"] for e in filtered] == [seed.beta]
    result = ok(tracking, "experiments", "list", "--max-results", "1")
    assert len(table_rows(result.stdout)) == 2
    assert "--max-results" in result.stderr


def test_list_views(seed: Seed, tracking: str) -> None:
    seed.client.delete_experiment(seed.beta)
    deleted = as_json(tracking, "experiments", "list", "--view", "deleted")
    assert [e["name"] for e in deleted] == ["beta"]
    assert len(as_json(tracking, "experiments", "list", "--view", "all")) == 3
    assert run(tracking, "experiments", "list", "--view", "gone").exit_code == 2


def test_list_bad_filter_is_an_error(seed: Seed, tracking: str) -> None:
    assert_error(run(tracking, "experiments", "list", "--filter", "name"), "Invalid filter")


def test_rename(seed: Seed, tracking: str) -> None:
    result = ok(tracking, "experiments", "rename", seed.beta, "bravo")
    assert "'beta' -> 'bravo'" in result.stdout
    assert as_json(tracking, "experiments", "rename", seed.beta, "b2")["name"] == "b2"
    assert seed.client.get_experiment(seed.beta).name == "b2"


def test_unknown_experiment_id_is_an_error(seed: Seed, tracking: str) -> None:
    for command in ("rename", "delete", "restore"):
        args = ["experiments", command, "999", *(["x"] if command == "rename" else [])]
        assert_error(run(tracking, *args), "999")


def test_a_name_where_an_id_belongs_is_a_usage_error(seed: Seed, tracking: str) -> None:
    result = run(tracking, "experiments", "delete", "alpha")
    assert result.exit_code == 2
    assert "not an experiment ID" in result.stderr


def test_delete_and_restore(seed: Seed, tracking: str) -> None:
    assert "experiments restore" in ok(tracking, "experiments", "delete", seed.beta).stdout
    assert seed.client.get_experiment(seed.beta).lifecycle_stage == "deleted"
    assert as_json(tracking, "experiments", "restore", seed.beta)["lifecycle_stage"] == "active"
    deleted = as_json(tracking, "experiments", "delete", seed.beta)
    assert deleted["lifecycle_stage"] == "deleted"
    assert "Restored" in ok(tracking, "experiments", "restore", seed.beta).stdout


def test_restore_an_active_experiment_is_an_error(seed: Seed, tracking: str) -> None:
    assert_error(run(tracking, "experiments", "restore", seed.beta), "active")


def test_permanent_delete_frees_the_name(seed: Seed, tracking: str) -> None:
    result = ok(tracking, "experiments", "delete", seed.alpha, "--permanent", "--yes")
    assert "2 runs" in result.stdout
    assert "2 B of artifacts freed" in result.stdout
    assert seed.client.get_experiment_by_name("alpha") is None
    new_id = ok(tracking, "experiments", "create", "alpha").stdout.strip()
    assert new_id != seed.alpha


def test_permanent_delete_of_a_deleted_experiment_json(seed: Seed, tracking: str) -> None:
    seed.client.delete_experiment(seed.beta)
    report = as_json(tracking, "experiments", "delete", seed.beta, "--permanent", "-y")
    counts = {k: report[k] for k in ("experiment_id", "experiments", "runs", "artifact_bytes")}
    assert counts == {"experiment_id": seed.beta, "experiments": 1, "runs": 1, "artifact_bytes": 0}
    assert report["errors"] == [] and report["experiment_names"] == {seed.beta: "beta"}


def test_permanent_delete_asks_first(seed: Seed, tracking: str) -> None:
    refused = run(tracking, "experiments", "delete", seed.beta, "--permanent", input="n\n")
    assert refused.exit_code == 1
    assert "cannot be undone" in refused.stderr
    assert seed.client.get_experiment(seed.beta).lifecycle_stage == "active"
    ok(tracking, "experiments", "delete", seed.beta, "--permanent", input="y\n")
    assert seed.client.get_experiment_by_name("beta") is None


def test_tracking_uri_from_the_environment(seed: Seed, tracking: str) -> None:
    result = CliRunner(env={"HERON_TRACKING_URI": tracking}).invoke(
        cli, ["experiments", "list", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert {e["name"] for e in json.loads(result.stdout)} == {"Default", "alpha", "beta"}


def test_mlflow_tracking_uri_is_the_fallback(seed: Seed, tracking: str, tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": tracking}
    result = CliRunner(env=env).invoke(cli, ["runs", "list", "--experiment-id", seed.beta])
    assert result.exit_code == 0, result.output
    assert seed.other in result.stdout
    env["HERON_TRACKING_URI"] = str(tmp_path / "empty")
    result = CliRunner(env=env).invoke(cli, ["experiments", "list", "--json"])
    assert [e["name"] for e in json.loads(result.stdout)] == ["Default"]


# ---- runs ---------------------------------------------------------------------------------


def test_runs_list_table(seed: Seed, tracking: str) -> None:
    rows = table_rows(ok(tracking, "runs", "list", "--experiment-id", seed.alpha).stdout)
    assert rows[0] == ["RUN ID", "RUN NAME", "STATUS", "START TIME", "END TIME"]
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"first", "second"}
    assert by_name["first"][0] == seed.first
    assert by_name["first"][2] == "FINISHED"
    assert TIMESTAMP.fullmatch(by_name["first"][3]) and TIMESTAMP.fullmatch(by_name["first"][4])
    assert by_name["second"][2:] == ["RUNNING", by_name["second"][3], "-"]


def test_runs_list_json_is_the_api_form(seed: Seed, tracking: str) -> None:
    expected = [r.to_dict() for r in seed.client.search_runs([seed.alpha])]
    assert as_json(tracking, "runs", "list", "--experiment-id", seed.alpha) == expected


def test_runs_list_defaults_to_the_default_experiment(seed: Seed, tracking: str) -> None:
    assert as_json(tracking, "runs", "list") == []
    assert len(table_rows(ok(tracking, "runs", "list").stdout)) == 1  # the header only


def test_runs_list_options(seed: Seed, tracking: str) -> None:
    both = ["--experiment-id", seed.alpha, "--experiment-id", seed.beta]
    assert len(as_json(tracking, "runs", "list", *both)) == 3
    by_lr = as_json(tracking, "runs", "list", *both, "--filter", "params.lr = '0.2'")
    assert [r["info"]["run_id"] for r in by_lr] == [seed.second]
    ordered = as_json(tracking, "runs", "list", *both, "--order-by", "attributes.run_name ASC")
    assert [r["info"]["run_name"] for r in ordered] == ["first", "other", "second"]
    limited = ok(tracking, "runs", "list", *both, "--max-results", "2")
    assert len(table_rows(limited.stdout)) == 3
    seed.client.delete_run(seed.other)
    deleted = as_json(tracking, "runs", "list", *both, "--view", "deleted")
    assert [r["info"]["run_id"] for r in deleted] == [seed.other]


def test_runs_list_unknown_experiment_is_an_error(seed: Seed, tracking: str) -> None:
    assert_error(run(tracking, "runs", "list", "--experiment-id", "404"), "404")
    assert run(tracking, "runs", "list", "--max-results", "0").exit_code == 2


def test_describe_text(seed: Seed, tracking: str) -> None:
    text = ok(tracking, "runs", "describe", seed.first).stdout
    assert text.startswith(f"Run {seed.first}\n")
    for section in ("Params", "Metrics (latest)", "Tags", "Inputs"):
        assert f"\n{section}\n" in text
    assert ["lr", "0.1"] in table_rows(text)
    loss = next(row for row in table_rows(text) if row[0] == "loss")
    assert loss[1:3] == ["0.25", "1"]  # the latest value, not the history
    assert any(row[:2] == ["note", "hello"] for row in table_rows(text))
    assert any(row == ["train", "abc123", "local", "training"] for row in table_rows(text))
    assert re.search(r"status:\s+FINISHED", text)


def test_describe_a_bare_run_says_none(seed: Seed, tracking: str) -> None:
    text = ok(tracking, "runs", "describe", seed.other).stdout
    assert "Params\n(none)" in text
    assert "Inputs\n(none)" in text


def test_describe_json(seed: Seed, tracking: str) -> None:
    assert (
        as_json(tracking, "runs", "describe", seed.first)
        == seed.client.get_run(seed.first).to_dict()
    )


def test_unknown_run_id_is_an_error(seed: Seed, tracking: str) -> None:
    for command in ("describe", "delete", "restore"):
        assert_error(run(tracking, "runs", command, "f" * 32), "f" * 32)


def test_run_delete_and_restore(seed: Seed, tracking: str) -> None:
    assert ok(tracking, "runs", "delete", seed.second).stdout == f"Deleted run {seed.second}.\n"
    assert seed.client.get_run(seed.second).info.lifecycle_stage == "deleted"
    restored = as_json(tracking, "runs", "restore", seed.second)
    assert restored["info"]["lifecycle_stage"] == "active"
    assert as_json(tracking, "runs", "delete", seed.second)["info"]["lifecycle_stage"] == "deleted"
    assert "Restored" in ok(tracking, "runs", "restore", seed.second).stdout


# ---- artifacts ----------------------------------------------------------------------------


def test_artifacts_list(seed: Seed, tracking: str) -> None:
    root = table_rows(ok(tracking, "artifacts", "list", "--run-id", seed.first).stdout)
    assert root == [["PATH", "IS DIR", "SIZE"], ["notes", "yes", "-"]]
    inner = ok(tracking, "artifacts", "list", "--run-id", seed.first, "--artifact-path", "notes")
    assert table_rows(inner.stdout)[1] == ["notes/a.txt", "no", "2 B"]
    listed = as_json(
        tracking, "artifacts", "list", "--run-id", seed.first, "--artifact-path", "notes"
    )
    assert listed == [{"path": "notes/a.txt", "is_dir": False, "file_size": 2}]


def test_artifacts_list_errors(seed: Seed, tracking: str) -> None:
    assert_error(run(tracking, "artifacts", "list", "--run-id", "f" * 32), "f" * 32)
    assert run(tracking, "artifacts", "list").exit_code == 2


def test_artifacts_download_a_file(seed: Seed, tracking: str, tmp_path: Path) -> None:
    dst = tmp_path / "dl"
    args = ["--run-id", seed.first, "--artifact-path", "notes/a.txt", "--dst-path", str(dst)]
    local = Path(ok(tracking, "artifacts", "download", *args).stdout.strip())
    assert local == dst / "notes" / "a.txt"
    assert local.read_text() == "hi"


def test_artifacts_download_everything_json(seed: Seed, tracking: str, tmp_path: Path) -> None:
    args = ["--run-id", seed.first, "--dst-path", str(tmp_path / "all")]
    local = Path(as_json(tracking, "artifacts", "download", *args)["local_path"])
    assert (local / "notes" / "a.txt").read_text() == "hi"


def test_artifacts_download_missing_path_is_an_error(seed: Seed, tracking: str) -> None:
    args = ["--run-id", seed.first, "--artifact-path", "nope.txt"]
    assert_error(run(tracking, "artifacts", "download", *args), "nope.txt")


# ---- db -----------------------------------------------------------------------------------


def test_db_current_of_the_tracking_store(seed: Seed, tracking: str) -> None:
    info = as_json(tracking, "db", "current")
    assert info["current"] == info["head"] == head_revision()
    assert info["up_to_date"] is True
    assert info["db_uri"].endswith("heron.db")
    assert "upgrade" not in ok(tracking, "db", "current").stdout


def test_db_upgrade_a_new_database(tracking: str, tmp_path: Path) -> None:
    db_file = tmp_path / "new" / "store.db"
    uri = f"sqlite:///{db_file}"
    before = as_json(tracking, "db", "current", "--backend-store-uri", uri)
    assert before["current"] is None and before["up_to_date"] is False
    assert not db_file.exists(), "asking for the revision must not create the database"
    assert "heron db upgrade" in ok(tracking, "db", "current", "--backend-store-uri", uri).stdout
    upgraded = as_json(tracking, "db", "upgrade", "--backend-store-uri", uri)
    assert upgraded == {"db_uri": uri, "from": None, "to": head_revision()}
    again = ok(tracking, "db", "upgrade", "--backend-store-uri", uri).stdout
    assert "already at head" in again


def test_db_upgrade_a_folder_text(tracking: str, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    result = ok(tracking, "db", "upgrade", "--backend-store-uri", str(folder))
    assert "from an empty database" in result.stdout
    assert (folder / "heron.db").exists()


def test_db_refuses_a_server_uri(tracking: str) -> None:
    result = run(tracking, "db", "current", "--backend-store-uri", "http://localhost:5000")
    assert_error(result, "not a database")


# ---- output helpers -----------------------------------------------------------------------


def test_table_aligns_and_truncates() -> None:
    long = "x" * 200
    text = output.table(("a", "bb"), [("1", long), ("22", None)])
    lines = text.splitlines()
    assert lines[0] == "A   BB"
    assert lines[1] == "1   " + "x" * (output.MAX_CELL_WIDTH - 1) + "…"
    assert lines[2] == "22  -"


def test_cells_are_one_line() -> None:
    assert output.cell("two\nlines") == "two lines"


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "-"), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (3 * 1024**3, "3.0 GiB")],
)
def test_file_size(size: int | None, text: str) -> None:
    assert output.file_size(size) == text


def test_timestamp_is_local_time() -> None:
    assert output.timestamp(None) == "-"
    assert TIMESTAMP.fullmatch(output.timestamp(1_700_000_000_000))
