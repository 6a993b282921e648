"""The real mlflow client, in-process, against a live ``heron server``: an MLflow user's calls.

Expected values are what mlflow-skinny 3.17.2 gets from ``mlflow server`` 3.17.2 on SQLite.
To check that claim, run this module against a real MLflow server::

    mlflow server --port 5000 &
    export HERON_COMPAT_REFERENCE_URL=http://127.0.0.1:5000
    pytest tests/server/test_mlflow_client_compat.py

Then tests of Heron's extensions are skipped.
"""

from __future__ import annotations

import math
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

REFERENCE_URL = os.environ.get("HERON_COMPAT_REFERENCE_URL")

heron_only = pytest.mark.skipif(
    REFERENCE_URL is not None, reason="a Heron extension that MLflow does not have"
)


@pytest.fixture(scope="module")
def server(store_server: str) -> str:
    """Every check runs against a Heron server on SQLite and one on PostgreSQL (or, with
    HERON_COMPAT_REFERENCE_URL, against that MLflow server)."""
    return REFERENCE_URL or store_server


@pytest.fixture(autouse=True)
def tracking(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point mlflow at the server for one test; no run, experiment or URI outlives it."""
    # A server error must fail the test at once, not after mlflow's minutes of retries.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    assert mlflow.active_run() is None
    mlflow.set_tracking_uri(server)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None  # set by mlflow.set_experiment
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    mlflow.set_tracking_uri(None)


@pytest.fixture
def client(server: str) -> MlflowClient:
    return MlflowClient(tracking_uri=server)


@pytest.fixture
def experiment_id(client: MlflowClient) -> str:
    eid: str = client.create_experiment(unique("exp"))
    return eid


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(MlflowException) as info:
        call(*args, **kwargs)
    return info.value.error_code, info.value.get_http_status_code()


def rest_store(server: str) -> Any:
    """The REST store behind MlflowClient: sends one request, where the client would split."""
    from mlflow.store.tracking.rest_store import RestStore
    from mlflow.utils.rest_utils import MlflowHostCreds

    return RestStore(lambda: MlflowHostCreds(server))


# --- experiments ----------------------------------------------------------------------------


def test_create_and_get_experiment(client: MlflowClient) -> None:
    name = unique("create")
    eid = client.create_experiment(name, tags={"team": "vision", "note": "ü 🚀"})
    experiment = client.get_experiment(eid)
    assert experiment.experiment_id == eid
    assert experiment.name == name
    assert experiment.lifecycle_stage == "active"
    assert experiment.artifact_location == f"mlflow-artifacts:/{eid}"
    assert experiment.tags == {"team": "vision", "note": "ü 🚀"}
    assert isinstance(experiment.creation_time, int)
    assert experiment.creation_time == experiment.last_update_time
    assert client.get_experiment_by_name(name).experiment_id == eid
    assert mlflow.get_experiment_by_name(name).experiment_id == eid


def test_get_experiment_by_name_of_a_missing_name_is_none(client: MlflowClient) -> None:
    assert client.get_experiment_by_name(unique("missing")) is None
    assert mlflow.get_experiment_by_name(unique("missing")) is None


def test_missing_and_duplicate_experiments(client: MlflowClient) -> None:
    name = unique("dup")
    client.create_experiment(name)
    assert error_of(client.create_experiment, name) == ("RESOURCE_ALREADY_EXISTS", 400)
    assert error_of(client.get_experiment, "987654321") == ("RESOURCE_DOES_NOT_EXIST", 404)
    assert error_of(client.create_experiment, "") == ("INVALID_PARAMETER_VALUE", 400)


def test_set_experiment_creates_it_and_runs_go_there() -> None:
    name = unique("fluent")
    experiment = mlflow.set_experiment(name)
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == experiment.experiment_id
    assert mlflow.set_experiment(name).experiment_id == experiment.experiment_id


def _names(experiments: list[Any]) -> list[str]:
    return [e.name for e in experiments]


@pytest.fixture
def seven(client: MlflowClient) -> tuple[str, list[str]]:
    """Seven experiments prefix-00 .. prefix-06; odd ones tagged team=a; prefix-00 deleted."""
    prefix = unique("s")
    ids = [
        client.create_experiment(f"{prefix}-{i:02d}", tags={"team": "a" if i % 2 else "b"})
        for i in range(7)
    ]
    client.delete_experiment(ids[0])
    return prefix, ids


def test_search_experiments_filter_and_order(
    client: MlflowClient, seven: tuple[str, list[str]]
) -> None:
    prefix, _ = seven
    like = f"name LIKE '{prefix}-%'"
    expected = [f"{prefix}-{i:02d}" for i in range(1, 7)]
    assert _names(client.search_experiments(filter_string=like, order_by=["name ASC"])) == expected
    assert (
        _names(client.search_experiments(filter_string=like, order_by=["name DESC"]))
        == (expected[::-1])
    )
    # By default the newest experiment comes first.
    assert _names(client.search_experiments(filter_string=like)) == expected[::-1]
    tagged = client.search_experiments(filter_string=f"{like} AND tags.team = 'a'")
    assert sorted(_names(tagged)) == [f"{prefix}-01", f"{prefix}-03", f"{prefix}-05"]
    assert _names(mlflow.search_experiments(filter_string=f"name = '{prefix}-02'")) == [
        f"{prefix}-02"
    ]


def test_search_experiments_pages(client: MlflowClient, seven: tuple[str, list[str]]) -> None:
    prefix, _ = seven
    pages, token = [], None
    while True:
        page = client.search_experiments(
            max_results=2,
            filter_string=f"name LIKE '{prefix}-%'",
            order_by=["name"],
            page_token=token,
        )
        pages.append(_names(page))
        token = page.token
        if not token:
            break
    assert pages == [[f"{prefix}-{i:02d}", f"{prefix}-{i + 1:02d}"] for i in (1, 3, 5)]


def test_search_experiments_view_types(client: MlflowClient, seven: tuple[str, list[str]]) -> None:
    prefix, _ = seven
    like = f"name LIKE '{prefix}-%'"

    def names(view_type: int) -> list[str]:
        found = client.search_experiments(view_type=view_type, filter_string=like)
        return sorted(_names(found))

    every = [f"{prefix}-{i:02d}" for i in range(7)]
    assert names(ViewType.ACTIVE_ONLY) == every[1:]
    assert names(ViewType.DELETED_ONLY) == every[:1]
    assert names(ViewType.ALL) == every


def test_rename_experiment(client: MlflowClient, experiment_id: str) -> None:
    new_name = unique("renamed")
    client.rename_experiment(experiment_id, new_name)
    assert client.get_experiment(experiment_id).name == new_name
    assert client.get_experiment_by_name(new_name).experiment_id == experiment_id


def test_experiment_tags_set_and_delete(client: MlflowClient, experiment_id: str) -> None:
    client.set_experiment_tag(experiment_id, "stage", "dev")
    client.set_experiment_tag(experiment_id, "stage", "prod")
    client.set_experiment_tag(experiment_id, "owner", "ana")
    assert client.get_experiment(experiment_id).tags == {"stage": "prod", "owner": "ana"}
    client.delete_experiment_tag(experiment_id, "stage")
    assert client.get_experiment(experiment_id).tags == {"owner": "ana"}
    code = error_of(client.delete_experiment_tag, experiment_id, "stage")
    assert code == ("RESOURCE_DOES_NOT_EXIST", 404)


def test_delete_and_restore_experiment(client: MlflowClient) -> None:
    name = unique("gone")
    eid = client.create_experiment(name)
    run = client.create_run(eid)
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    assert client.get_experiment_by_name(name).lifecycle_stage == "deleted"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert error_of(client.create_run, eid) == ("INVALID_PARAMETER_VALUE", 400)
    assert error_of(client.create_experiment, name) == ("RESOURCE_ALREADY_EXISTS", 400)
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"


# --- runs -------------------------------------------------------------------------------------


def test_create_run_defaults(client: MlflowClient, experiment_id: str) -> None:
    run = client.create_run(experiment_id)
    info = run.info
    assert info.status == "RUNNING"
    assert info.lifecycle_stage == "active"
    assert info.end_time is None
    assert info.experiment_id == experiment_id
    assert info.run_name and run.data.tags == {"mlflow.runName": info.run_name}
    assert info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{info.run_id}/artifacts"
    assert (run.data.metrics, run.data.params) == ({}, {})
    named = client.create_run(experiment_id, run_name="baseline", start_time=1234)
    assert (named.info.run_name, named.info.start_time) == ("baseline", 1234)
    assert client.get_run(named.info.run_id).data.tags["mlflow.runName"] == "baseline"


def test_start_run_and_end_run_statuses(experiment_id: str) -> None:
    with mlflow.start_run(experiment_id=experiment_id, run_name="ok") as ok:
        assert mlflow.active_run().info.run_id == ok.info.run_id
    with pytest.raises(ZeroDivisionError), mlflow.start_run(experiment_id=experiment_id) as bad:
        _ = 1 / 0
    killed = mlflow.start_run(experiment_id=experiment_id)
    mlflow.end_run(status="KILLED")
    assert mlflow.active_run() is None
    client = MlflowClient()
    finished = client.get_run(ok.info.run_id).info
    assert (finished.status, finished.run_name) == ("FINISHED", "ok")
    assert finished.end_time >= finished.start_time
    assert client.get_run(bad.info.run_id).info.status == "FAILED"
    assert client.get_run(killed.info.run_id).info.status == "KILLED"


def test_nested_runs_record_their_parent(experiment_id: str) -> None:
    mlflow.set_experiment(experiment_id=experiment_id)
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child", nested=True) as child:
            assert mlflow.active_run().info.run_id == child.info.run_id
        assert mlflow.active_run().info.run_id == parent.info.run_id
    tags = MlflowClient().get_run(child.info.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id
    assert tags["mlflow.runName"] == "child"
    assert "mlflow.parentRunId" not in MlflowClient().get_run(parent.info.run_id).data.tags
    found = mlflow.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'", output_format="list"
    )
    assert [r.info.run_id for r in found] == [child.info.run_id]


def test_update_run_and_set_terminated(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id, run_name="before").info.run_id
    client.update_run(run_id, status="KILLED", name="after")
    info = client.get_run(run_id)
    assert (info.info.status, info.info.run_name) == ("KILLED", "after")
    assert info.data.tags["mlflow.runName"] == "after"
    assert info.info.end_time is None  # update_run does not end a run; set_terminated does
    client.set_terminated(run_id, "FINISHED", end_time=4242)
    info = client.get_run(run_id).info
    assert (info.status, info.end_time) == ("FINISHED", 4242)
    with pytest.raises(Exception, match="Could not get run status"):
        client.set_terminated(run_id, "BOGUS")


def test_delete_and_restore_run(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert error_of(client.log_metric, run_id, "m", 1.0) == ("INVALID_PARAMETER_VALUE", 400)
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    client.log_metric(run_id, "m", 1.0)


def test_missing_run_is_resource_does_not_exist(client: MlflowClient) -> None:
    missing = uuid.uuid4().hex
    assert error_of(client.get_run, missing) == ("RESOURCE_DOES_NOT_EXIST", 404)
    assert error_of(client.log_param, missing, "p", "1") == ("RESOURCE_DOES_NOT_EXIST", 404)
    assert error_of(client.list_artifacts, missing) == ("RESOURCE_DOES_NOT_EXIST", 404)


def test_metric_history_of_a_missing_run_is_empty(client: MlflowClient) -> None:
    assert client.get_metric_history(uuid.uuid4().hex, "m") == []


# --- search_runs ------------------------------------------------------------------------------


@pytest.fixture
def five_runs(client: MlflowClient, experiment_id: str) -> tuple[str, list[str]]:
    """run-0 .. run-4: acc = i/10, model cnn for odd i, stage Prod for i < 2; run-0 finished,
    run-4 deleted."""
    ids = []
    for i in range(5):
        run_id = client.create_run(experiment_id, run_name=f"run-{i}", start_time=1000 + i)
        run_id = run_id.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("acc", i / 10, 0, 0)],
            params=[Param("model", "cnn" if i % 2 else "vit"), Param("i", str(i))],
            tags=[RunTag("stage", "Prod" if i < 2 else "dev")],
        )
        ids.append(run_id)
    client.set_terminated(ids[0], "FINISHED", end_time=5000)
    client.delete_run(ids[4])
    return experiment_id, ids


def _run_names(runs: list[Any]) -> list[str]:
    return [r.info.run_name for r in runs]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("", ["run-3", "run-2", "run-1", "run-0"]),
        ("metrics.acc > 0.15", ["run-3", "run-2"]),
        ("metrics.acc <= 0.1", ["run-1", "run-0"]),
        ("params.model = 'cnn'", ["run-3", "run-1"]),
        ("params.model != 'cnn'", ["run-2", "run-0"]),
        ("tags.stage = 'Prod'", ["run-1", "run-0"]),
        ("tags.stage = 'prod'", []),
        ("tags.stage LIKE 'P%'", ["run-1", "run-0"]),
        ("tags.stage ILIKE 'prod'", ["run-1", "run-0"]),
        ("attributes.status = 'FINISHED'", ["run-0"]),
        ("attributes.run_name LIKE 'run-%' AND attributes.start_time >= 1002", ["run-3", "run-2"]),
        ("tags.mlflow.runName = 'run-2'", ["run-2"]),
        ("params.missing IS NULL AND params.i = '1'", ["run-1"]),
    ],
)
def test_search_runs_filters(
    client: MlflowClient,
    five_runs: tuple[str, list[str]],
    filter_string: str,
    expected: list[str],
) -> None:
    experiment_id, _ = five_runs
    assert _run_names(client.search_runs([experiment_id], filter_string)) == expected


def test_search_runs_by_run_id_in(client: MlflowClient, five_runs: tuple[str, list[str]]) -> None:
    experiment_id, ids = five_runs
    found = client.search_runs([experiment_id], f"attributes.run_id IN ('{ids[1]}', '{ids[2]}')")
    assert _run_names(found) == ["run-2", "run-1"]


@heron_only
@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.model = 'cnn' OR tags.stage = 'Prod'", ["run-3", "run-1", "run-0"]),
        ("params.i IN ('1', '3')", ["run-3", "run-1"]),
        ("params.i NOT IN ('1', '3')", ["run-2", "run-0"]),
        ("(params.model = 'vit' OR metrics.acc > 0.25) AND tags.stage = 'dev'", ["run-3", "run-2"]),
        ("params.model ILIKE 'CNN'", ["run-3", "run-1"]),
        ("params.model NOT LIKE 'c%'", ["run-2", "run-0"]),
    ],
)
def test_search_runs_heron_filter_extensions(
    client: MlflowClient,
    five_runs: tuple[str, list[str]],
    filter_string: str,
    expected: list[str],
) -> None:
    experiment_id, _ = five_runs
    assert _run_names(client.search_runs([experiment_id], filter_string)) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["metrics.acc DESC"], ["run-3", "run-2", "run-1", "run-0"]),
        (["metrics.acc ASC"], ["run-0", "run-1", "run-2", "run-3"]),
        (["params.i ASC"], ["run-0", "run-1", "run-2", "run-3"]),
        (["params.model ASC", "params.i DESC"], ["run-3", "run-1", "run-2", "run-0"]),
        (["tags.stage DESC", "attributes.start_time ASC"], ["run-2", "run-3", "run-0", "run-1"]),
        (["attributes.run_name DESC"], ["run-3", "run-2", "run-1", "run-0"]),
        (["attributes.start_time ASC"], ["run-0", "run-1", "run-2", "run-3"]),
    ],
)
def test_search_runs_order_by(
    client: MlflowClient,
    five_runs: tuple[str, list[str]],
    order_by: list[str],
    expected: list[str],
) -> None:
    experiment_id, _ = five_runs
    assert _run_names(client.search_runs([experiment_id], order_by=order_by)) == expected


def test_search_runs_pages(client: MlflowClient, five_runs: tuple[str, list[str]]) -> None:
    experiment_id, _ = five_runs
    pages, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id],
            max_results=2,
            order_by=["attributes.run_name ASC"],
            page_token=token,
            run_view_type=ViewType.ALL,
        )
        pages.append(_run_names(page))
        token = page.token
        if not token:
            break
    assert pages == [["run-0", "run-1"], ["run-2", "run-3"], ["run-4"]]


def test_search_runs_view_types(client: MlflowClient, five_runs: tuple[str, list[str]]) -> None:
    experiment_id, _ = five_runs

    def names(view: int) -> list[str]:
        return sorted(_run_names(client.search_runs([experiment_id], run_view_type=view)))

    assert names(ViewType.ACTIVE_ONLY) == ["run-0", "run-1", "run-2", "run-3"]
    assert names(ViewType.DELETED_ONLY) == ["run-4"]
    assert names(ViewType.ALL) == ["run-0", "run-1", "run-2", "run-3", "run-4"]


def test_fluent_search_runs_dataframe_and_list(five_runs: tuple[str, list[str]]) -> None:
    pd = pytest.importorskip("pandas")
    experiment_id, ids = five_runs
    frame = mlflow.search_runs([experiment_id], order_by=["params.i ASC"])
    assert isinstance(frame, pd.DataFrame)
    assert sorted(frame.columns) == [
        "artifact_uri",
        "end_time",
        "experiment_id",
        "metrics.acc",
        "params.i",
        "params.model",
        "run_id",
        "start_time",
        "status",
        "tags.mlflow.runName",
        "tags.stage",
    ]
    assert list(frame["run_id"]) == ids[:4]
    assert list(frame["tags.mlflow.runName"]) == ["run-0", "run-1", "run-2", "run-3"]
    assert list(frame["status"]) == ["FINISHED", "RUNNING", "RUNNING", "RUNNING"]
    assert list(frame["metrics.acc"]) == [0.0, 0.1, 0.2, 0.3]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    runs = mlflow.search_runs([experiment_id], output_format="list", order_by=["params.i ASC"])
    assert [type(r).__name__ for r in runs] == ["Run"] * 4
    assert [r.data.params["i"] for r in runs] == ["0", "1", "2", "3"]
    name = MlflowClient().get_experiment(experiment_id).name
    assert len(mlflow.search_runs(experiment_names=[name])) == 4


@pytest.mark.parametrize(
    "filter_string",
    [
        "metrics.acc >",
        "foo.bar = 1",
        "params.model = cnn",
        "metrics.acc = 'high'",
        "attributes.nope = 'x'",
        "params.model == 'cnn'",
    ],
)
def test_bad_filter_is_invalid_parameter_value(
    client: MlflowClient, experiment_id: str, filter_string: str
) -> None:
    code = error_of(client.search_runs, [experiment_id], filter_string)
    assert code == ("INVALID_PARAMETER_VALUE", 400)


def test_bad_order_by_is_invalid_parameter_value(client: MlflowClient, experiment_id: str) -> None:
    code = error_of(client.search_runs, [experiment_id], order_by=["nope"])
    assert code == ("INVALID_PARAMETER_VALUE", 400)
    code = error_of(client.search_experiments, order_by=["nope"])
    assert code == ("INVALID_PARAMETER_VALUE", 400)
    code = error_of(client.search_experiments, filter_string="name =")
    assert code == ("INVALID_PARAMETER_VALUE", 400)


# --- params, metrics, tags, batches ---------------------------------------------------------


def test_params_are_immutable(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "lr", "0.1")
    client.log_param(run_id, "lr", "0.1")  # the same value again is fine
    with pytest.raises(MlflowException, match="Changing param values is not allowed") as info:
        client.log_param(run_id, "lr", "0.2")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {"lr": "0.1"}
    with mlflow.start_run(run_id=run_id):
        mlflow.log_params({"depth": 3, "lr": 0.1})
        with pytest.raises(MlflowException):
            mlflow.log_param("depth", 4)
    assert client.get_run(run_id).data.params == {"lr": "0.1", "depth": "3"}


def test_metrics_with_steps_and_timestamps(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    for step in range(5):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), timestamp=100 + step, step=step * 10)
    client.log_metric(run_id, "loss", 9.0, timestamp=50, step=0)
    history = client.get_metric_history(run_id, "loss")
    assert [(m.value, m.timestamp, m.step) for m in history] == [
        (9.0, 50, 0),
        (1.0, 100, 0),
        (0.5, 101, 10),
        (1 / 3, 102, 20),
        (0.25, 103, 30),
        (0.2, 104, 40),
    ]
    # The run's value is the latest step's, not the latest write's.
    assert client.get_run(run_id).data.metrics == {"loss": 0.2}
    assert client.get_metric_history(run_id, "never-logged") == []
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({"a": 1, "b": 2.5}, step=7)
    assert [(m.value, m.step) for m in client.get_metric_history(run_id, "b")] == [(2.5, 7)]


def test_nan_and_infinite_metric_values(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    for step, value in enumerate([math.nan, math.inf, -math.inf, 1.5]):
        client.log_metric(run_id, "m", value, timestamp=10 + step, step=step)
    values = [m.value for m in client.get_metric_history(run_id, "m")]
    assert math.isnan(values[0])
    assert values[3] == 1.5
    # Heron keeps infinities; MLflow clamps them to the largest double.
    big = sys.float_info.max if REFERENCE_URL else math.inf
    assert values[1:3] == [big, -big]
    client.log_metric(run_id, "only_nan", math.nan)
    assert math.isnan(client.get_run(run_id).data.metrics["only_nan"])


def test_async_logging_is_flushed_by_end_run(client: MlflowClient, experiment_id: str) -> None:
    with mlflow.start_run(experiment_id=experiment_id) as run:
        for step in range(50):
            mlflow.log_metric("async", step / 2, step=step, synchronous=False)
        mlflow.log_param("mode", "async", synchronous=False)
        mlflow.set_tag("t", "async", synchronous=False)
    history = client.get_metric_history(run.info.run_id, "async")
    assert sorted(m.step for m in history) == list(range(50))
    data = client.get_run(run.info.run_id).data
    assert (data.params["mode"], data.tags["t"], data.metrics["async"]) == ("async", "async", 24.5)


def test_log_batch(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), 1000 + i, i) for i in range(3)],
        params=[Param("p", "1"), Param("q", "two")],
        tags=[RunTag("t", "x")],
    )
    data = client.get_run(run_id).data
    assert data.metrics == {"m": 2.0}
    assert data.params == {"p": "1", "q": "two"}
    assert data.tags["t"] == "x"
    assert len(client.get_metric_history(run_id, "m")) == 3


def test_log_batch_over_the_limits(client: MlflowClient, server: str, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    # MlflowClient splits big batches into requests the server accepts...
    client.log_batch(run_id, metrics=[Metric("big", 1.0, 1, i) for i in range(1001)])
    client.log_batch(run_id, params=[Param(f"p{i}", "v") for i in range(101)])
    assert len(client.get_metric_history(run_id, "big")) == 1001
    assert len(client.get_run(run_id).data.params) == 101
    # ...while one request over a limit is refused, and stores nothing.
    store = rest_store(server)
    other = client.create_run(experiment_id).info.run_id
    too_many = {
        "metrics": [Metric("m", 1.0, 1, i) for i in range(1001)],
        "params": [Param(f"p{i}", "v") for i in range(101)],
        "tags": [RunTag(f"t{i}", "v") for i in range(101)],
    }
    for field, items in too_many.items():
        batch: dict[str, Any] = {"metrics": [], "params": [], "tags": [], field: items}
        with pytest.raises(MlflowException, match=f"at most 1000 {field}|at most 100 {field}") as e:
            store.log_batch(other, **batch)
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    data = client.get_run(other).data
    assert (data.metrics, data.params) == ({}, {})
    assert set(data.tags) == {"mlflow.runName"}


def test_log_batch_of_long_values_over_a_megabyte(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(
        run_id,
        params=[Param(f"p{i}", "v" * 6000) for i in range(100)],
        tags=[RunTag(f"t{i}", "w" * 8000) for i in range(100)],
    )
    data = client.get_run(run_id).data
    assert len(data.params) == 100 and data.params["p99"] == "v" * 6000
    assert data.tags["t99"] == "w" * 8000


def test_log_batch_with_duplicate_param_keys(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    code = error_of(client.log_batch, run_id, params=[Param("d", "1"), Param("d", "2")])
    assert code == ("INVALID_PARAMETER_VALUE", 400)
    assert client.get_run(run_id).data.params == {}


def test_bad_metric_and_param_names(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    assert error_of(client.log_metric, run_id, "bad key!", 1.0) == ("INVALID_PARAMETER_VALUE", 400)
    assert error_of(client.log_param, run_id, "../up", "1") == ("INVALID_PARAMETER_VALUE", 400)
    assert error_of(client.log_param, run_id, "k" * 300, "1") == ("INVALID_PARAMETER_VALUE", 400)


def test_set_tags_and_delete_tag(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "a", "1")
    with mlflow.start_run(run_id=run_id):
        mlflow.set_tags({"b": 2, "html": "<script>alert(1)</script>"})
        mlflow.set_tag("a", "overwritten")
    tags = client.get_run(run_id).data.tags
    assert (tags["a"], tags["b"], tags["html"]) == ("overwritten", "2", "<script>alert(1)</script>")
    client.delete_tag(run_id, "a")
    assert "a" not in client.get_run(run_id).data.tags
    assert error_of(client.delete_tag, run_id, "a") == ("RESOURCE_DOES_NOT_EXIST", 404)


def test_long_param_value_is_truncated_by_the_server(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "long", "x" * 7000)
    assert client.get_run(run_id).data.params["long"] == "x" * 6000


def test_long_tag_value_is_truncated_by_the_server(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "long", "y" * 9000)
    assert client.get_run(run_id).data.tags["long"] == "y" * 8000


def test_experiment_tag_values_up_to_20000_characters(
    client: MlflowClient, experiment_id: str
) -> None:
    client.set_experiment_tag(experiment_id, "long", "z" * 20000)
    assert client.get_experiment(experiment_id).tags["long"] == "z" * 20000


# --- datasets ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0", "ignore:Hint")
def test_log_input_dataset(client: MlflowClient, experiment_id: str) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]})
    dataset = mlflow.data.from_pandas(frame, source="s3://bucket/data.csv", name="train")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_input(dataset, context="training", tags={"k": "v"})
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    logged = inputs[0].dataset
    assert (logged.name, logged.digest, logged.source_type) == ("train", dataset.digest, "s3")
    assert logged.source == '{"uri": "s3://bucket/data.csv"}'
    assert logged.profile == '{"num_rows": 3, "num_elements": 6}'
    assert '"name": "x"' in logged.schema and '"type": "double"' in logged.schema
    tags = {t.key: t.value for t in inputs[0].tags}
    assert tags == {"k": "v", "mlflow.data.context": "training"}
    for filter_string in ("dataset.name = 'train'", "dataset.context = 'training'"):
        found = client.search_runs([experiment_id], filter_string)
        assert [r.info.run_id for r in found] == [run.info.run_id]


# --- artifacts through the proxy --------------------------------------------------------------


@pytest.fixture
def artifact_run(experiment_id: str, tmp_path: Path) -> str:
    tree = tmp_path / "tree"
    (tree / "sub" / "deep").mkdir(parents=True)
    (tree / "a.txt").write_text("hello")
    (tree / "sub" / "b.txt").write_text("bb")
    (tree / "sub" / "deep" / "c.bin").write_bytes(b"\x00\x01\x02")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_artifact(str(tree / "a.txt"))
        mlflow.log_artifacts(str(tree), artifact_path="tree")
        mlflow.log_text("text!", "notes/t.txt")
        mlflow.log_dict({"a": 1}, "cfg.json")
        mlflow.log_dict({"a": 1}, "cfg.yaml")
    run_id: str = run.info.run_id
    return run_id


def _listing(client: MlflowClient, run_id: str, path: str | None = None) -> list[tuple]:
    return [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, path)]


def test_list_artifacts(client: MlflowClient, artifact_run: str) -> None:
    assert client.get_run(artifact_run).info.artifact_uri.startswith("mlflow-artifacts:/")
    assert _listing(client, artifact_run) == [
        ("a.txt", False, 5),
        ("cfg.json", False, 12),
        ("cfg.yaml", False, 5),
        ("notes", True, None),
        ("tree", True, None),
    ]
    assert _listing(client, artifact_run, "tree") == [
        ("tree/a.txt", False, 5),
        ("tree/sub", True, None),
    ]
    assert _listing(client, artifact_run, "tree/sub") == [
        ("tree/sub/b.txt", False, 2),
        ("tree/sub/deep", True, None),
    ]
    assert _listing(client, artifact_run, "a.txt") == []
    assert _listing(client, artifact_run, "nope") == []


def test_download_artifacts(client: MlflowClient, artifact_run: str, tmp_path: Path) -> None:
    local = Path(client.download_artifacts(artifact_run, "tree", str(tmp_path / "one")))
    files = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert files == ["a.txt", "sub/b.txt", "sub/deep/c.bin"]
    assert (local / "sub" / "deep" / "c.bin").read_bytes() == b"\x00\x01\x02"
    text = mlflow.artifacts.download_artifacts(
        run_id=artifact_run, artifact_path="notes/t.txt", dst_path=str(tmp_path / "two")
    )
    assert Path(text).read_text() == "text!"
    whole = mlflow.artifacts.download_artifacts(f"runs:/{artifact_run}/cfg.yaml")
    assert Path(whole).read_text() == "a: 1\n"
    assert mlflow.artifacts.load_dict(f"runs:/{artifact_run}/cfg.json") == {"a": 1}
    assert mlflow.artifacts.load_text(f"runs:/{artifact_run}/notes/t.txt") == "text!"
    with pytest.raises(MlflowException, match="Failed to download artifacts"):
        client.download_artifacts(artifact_run, "nope.txt", str(tmp_path / "three"))


def test_large_artifact_round_trip(experiment_id: str, tmp_path: Path) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    (tmp_path / "big.bin").write_bytes(payload)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_artifact(str(tmp_path / "big.bin"), artifact_path="blobs")
    local = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="blobs/big.bin", dst_path=str(tmp_path / "out")
    )
    assert Path(local).read_bytes() == payload
