"""The fluent API as an MLflow user drives it, on the embedded default."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import heron
from heron.exceptions import HeronException


@pytest.mark.local_only
def test_embedded_default_folder(tmp_path: Path) -> None:
    with heron.start_run() as run:
        heron.log_metric("m", 1.0)
    assert (tmp_path / "heronruns" / "heron.db").exists()
    assert heron.get_tracking_uri() == str(tmp_path / "heronruns")
    assert heron.get_run(run.info.run_id).info.status == "FINISHED"


@pytest.mark.local_only
def test_tracking_uri_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(tmp_path / "from-mlflow"))
    assert heron.get_tracking_uri() == str(tmp_path / "from-mlflow")
    monkeypatch.setenv("HERON_TRACKING_URI", str(tmp_path / "from-heron"))
    assert heron.get_tracking_uri() == str(tmp_path / "from-heron")
    heron.set_tracking_uri(tmp_path / "explicit")
    assert heron.get_tracking_uri() == str(tmp_path / "explicit")
    assert heron.is_tracking_uri_set()


def test_experiments_and_nested_runs() -> None:
    experiment = heron.set_experiment("exp")
    assert heron.set_experiment("exp").experiment_id == experiment.experiment_id
    with heron.start_run(run_name="parent") as parent:
        heron.log_params({"lr": 0.1, "layers": 3})
        for step in range(3):
            heron.log_metric("loss", 1.0 / (step + 1), step=step)
        heron.set_tags({"stage": "dev"})
        with heron.start_run(nested=True, run_name="child") as child:
            heron.log_metrics({"acc": 0.9, "f1": float("nan")}, step=1)
            assert heron.active_run().info.run_id == child.info.run_id
        assert heron.active_run().info.run_id == parent.info.run_id
    assert heron.active_run() is None
    got_child = heron.get_run(child.info.run_id)
    assert got_child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert math.isnan(got_child.data.metrics["f1"])
    got_parent = heron.get_run(parent.info.run_id)
    assert got_parent.info.experiment_id == experiment.experiment_id
    assert got_parent.data.params == {"lr": "0.1", "layers": "3"}
    assert got_parent.data.metrics == {"loss": pytest.approx(1 / 3)}
    for tag in ("mlflow.user", "mlflow.source.name", "mlflow.source.type", "mlflow.runName"):
        assert tag in got_parent.data.tags
    assert heron.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    history = heron.MlflowClient().get_metric_history(parent.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2]
    assert heron.last_active_run().info.run_id == parent.info.run_id


def test_start_run_twice_needs_nested() -> None:
    with heron.start_run(), pytest.raises(HeronException, match="already active"):
        heron.start_run()


def test_exception_marks_run_failed() -> None:
    with pytest.raises(ValueError), heron.start_run() as run:
        raise ValueError("boom")
    assert heron.get_run(run.info.run_id).info.status == "FAILED"


def test_resume_run_and_end_with_status() -> None:
    run = heron.start_run()
    heron.end_run("KILLED")
    assert heron.get_run(run.info.run_id).info.status == "KILLED"
    with heron.start_run(run_id=run.info.run_id):
        heron.log_param("resumed", True)
    resumed = heron.get_run(run.info.run_id)
    assert resumed.info.status == "FINISHED"
    assert resumed.data.params["resumed"] == "True"


def test_logging_without_a_run_starts_one() -> None:
    heron.log_metric("x", 2.0)
    run = heron.active_run()
    assert run is not None
    heron.end_run()
    assert heron.get_run(run.info.run_id).data.metrics == {"x": 2.0}


def test_param_change_is_an_error() -> None:
    with heron.start_run():
        heron.log_param("p", 1)
        heron.log_param("p", 1)
        with pytest.raises(HeronException) as excinfo:
            heron.log_param("p", 2, synchronous=True)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_queued_param_change_surfaces_at_flush_and_fails_the_run() -> None:
    with pytest.raises(HeronException) as excinfo, heron.start_run() as run:
        heron.log_param("p", 1)
        heron.log_metric("m", 1.0)
        heron.log_param("p", 2)  # queued: returns at once
        heron.log_metric("m", 2.0, step=1)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "log_param('p', '2')" in excinfo.value.message
    stored = heron.get_run(run.info.run_id)
    assert stored.info.status == "FAILED"  # as MLflow's run fails when the call raises
    assert stored.data.params == {"p": "1"}
    history = heron.MlflowClient().get_metric_history(run.info.run_id, "m")
    assert [m.value for m in history] == [1.0, 2.0]  # the calls around it were stored


def test_long_param_values_are_truncated_with_a_warning() -> None:
    with heron.start_run() as run, pytest.warns(UserWarning, match="truncated"):
        heron.log_param("long", "x" * 7000)
    assert len(heron.get_run(run.info.run_id).data.params["long"]) == 6000


@pytest.mark.fresh_server
def test_search_runs_dataframe_and_list() -> None:
    pd = pytest.importorskip("pandas")
    heron.set_experiment("s")
    for i in range(3):
        with heron.start_run(run_name=f"r{i}"):
            heron.log_metric("acc", i / 10)
            heron.log_param("kind", "a" if i else "b")
    frame = heron.search_runs(filter_string="metrics.acc > 0.05", order_by=["metrics.acc DESC"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    assert list(frame["metrics.acc"]) == [0.2, 0.1]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    runs = heron.search_runs(output_format="list", filter_string="params.kind IN ('b')")
    assert [r.info.run_name for r in runs] == ["r0"]
    assert len(heron.search_runs(search_all_experiments=True, output_format="list")) == 3
    assert len(heron.search_runs(experiment_names=["s"], output_format="list", max_results=2)) == 2


def test_delete_and_restore_through_fluent_and_client() -> None:
    client = heron.HeronClient()
    exp_id = heron.create_experiment("to-delete", tags={"a": 1})
    assert heron.get_experiment(exp_id).tags == {"a": "1"}
    with heron.start_run(experiment_id=exp_id) as run:
        pass
    heron.delete_run(run.info.run_id)
    assert heron.search_runs([exp_id], output_format="list") == []
    client.restore_run(run.info.run_id)
    assert len(heron.search_runs([exp_id], output_format="list")) == 1
    heron.delete_experiment(exp_id)
    assert heron.get_experiment_by_name("to-delete").lifecycle_stage == "deleted"
    assert "to-delete" not in [e.name for e in heron.search_experiments()]
    client.restore_experiment(exp_id)
    assert heron.get_experiment(exp_id).lifecycle_stage == "active"


def test_experiment_tags_on_active_experiment() -> None:
    exp = heron.set_experiment("tagged")
    heron.set_experiment_tags({"owner": "me", "k": "v"})
    heron.delete_experiment_tag("k")
    assert heron.get_experiment(exp.experiment_id).tags == {"owner": "me"}


def test_set_experiment_refuses_deleted() -> None:
    exp = heron.set_experiment("bye")
    heron.delete_experiment(exp.experiment_id)
    with pytest.raises(HeronException, match="deleted"):
        heron.set_experiment("bye")


def test_public_api_is_pinned() -> None:
    assert sorted(heron.__all__) == sorted(
        [
            "ActiveRun",
            "HeronClient",
            "HeronException",
            "MlflowClient",
            "MlflowException",
            "ViewType",
            "__version__",
            "active_run",
            "artifacts",
            "config",
            "create_experiment",
            "data",
            "delete_experiment",
            "delete_experiment_tag",
            "delete_run",
            "delete_tag",
            "end_run",
            "entities",
            "flush",
            "flush_async_logging",
            "get_artifact_uri",
            "get_experiment",
            "get_experiment_by_name",
            "get_parent_run",
            "get_run",
            "get_tracking_uri",
            "is_tracking_uri_set",
            "last_active_run",
            "list_artifacts",
            "load_table",
            "log_artifact",
            "log_artifacts",
            "log_dict",
            "log_figure",
            "log_image",
            "log_input",
            "log_metric",
            "log_metrics",
            "log_param",
            "log_params",
            "log_table",
            "log_text",
            "search_experiments",
            "search_runs",
            "set_experiment",
            "set_experiment_tag",
            "set_experiment_tags",
            "set_tag",
            "set_tags",
            "set_tracking_uri",
            "start_run",
            "tracking",
        ]
    )
    for name in heron.__all__:
        assert hasattr(heron, name), name


def test_client_follows_set_tracking_uri(tmp_path: Path) -> None:
    heron.set_tracking_uri(tmp_path / "chosen")
    assert heron.MlflowClient().tracking_uri == str(tmp_path / "chosen")
