from __future__ import annotations

import math

import pytest

from heron.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType
from heron.exceptions import HeronException


def test_create_run_generates_a_readable_name(store) -> None:
    run = store.create_run("0", "alice", 1000, [RunTag("team", "a")])
    assert run.info.status == "RUNNING"
    assert run.info.user_id == "alice"
    assert run.info.start_time == 1000
    assert run.info.run_name.count("-") == 2
    assert run.data.tags["mlflow.runName"] == run.info.run_name
    assert run.info.artifact_uri.endswith(f"/0/{run.info.run_id}/artifacts")
    assert run.info.run_uuid == run.info.run_id


def test_run_name_from_argument_or_tag(store) -> None:
    assert store.create_run("0", run_name="named").info.run_name == "named"
    tagged = store.create_run("0", tags=[RunTag("mlflow.runName", "from-tag")])
    assert tagged.info.run_name == "from-tag"


def test_update_run(store) -> None:
    run = store.create_run("0")
    info = store.update_run_info(run.info.run_id, "FINISHED", 2000, "renamed")
    assert (info.status, info.end_time, info.run_name) == ("FINISHED", 2000, "renamed")
    assert store.get_run(run.info.run_id).data.tags["mlflow.runName"] == "renamed"
    with pytest.raises(HeronException) as excinfo:
        store.update_run_info(run.info.run_id, "BOGUS")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_delete_and_restore_run(store) -> None:
    run_id = store.create_run("0").info.run_id
    store.delete_run(run_id)
    assert store.get_run(run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(HeronException):
        store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])
    store.restore_run(run_id)
    assert store.get_run(run_id).info.lifecycle_stage == "active"
    with pytest.raises(HeronException) as excinfo:
        store.delete_run("0" * 32)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_params_are_immutable(store) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_batch(run_id, params=[Param("lr", "0.1")])
    store.log_batch(run_id, params=[Param("lr", "0.1")])  # same value: fine
    with pytest.raises(HeronException) as excinfo:
        store.log_batch(run_id, params=[Param("lr", "0.2")])
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in excinfo.value.message
    assert store.get_run(run_id).data.params == {"lr": "0.1"}


def test_metrics_history_latest_and_special_values(store) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_batch(
        run_id,
        metrics=[
            Metric("loss", 3.0, 10, 0),
            Metric("loss", 2.0, 20, 1),
            Metric("loss", float("nan"), 30, 2),
            Metric("loss", float("inf"), 40, 3),
            Metric("loss", float("-inf"), 5, 4),
            Metric("acc", 0.5, 10, 5),
            Metric("acc", 0.9, 10, 1),
        ],
    )
    history = store.get_metric_history(run_id, "loss")
    values = [m.value for m in history]
    assert values[:2] == [3.0, 2.0]
    assert math.isnan(values[2]) and values[3] == math.inf and values[4] == -math.inf
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    data = store.get_run(run_id).data
    assert data.metrics["loss"] == -math.inf  # largest step wins, whatever the timestamp
    assert data.metrics["acc"] == 0.5


def test_latest_metric_across_batches(store) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 100, 5)])
    store.log_batch(run_id, metrics=[Metric("m", 2.0, 200, 4)])  # older step: not latest
    assert store.get_run(run_id).data.metrics["m"] == 1.0
    store.log_batch(run_id, metrics=[Metric("m", 3.0, 300, 5)])  # same step, later
    assert store.get_run(run_id).data.metrics["m"] == 3.0


def test_metric_history_pages(store) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_batch(run_id, metrics=[Metric("m", float(i), i, i) for i in range(10)])
    page = store.get_metric_history(run_id, "m", max_results=4)
    assert [m.step for m in page] == [0, 1, 2, 3] and page.token
    rest = store.get_metric_history(run_id, "m", max_results=100, page_token=page.token)
    assert [m.step for m in rest] == list(range(4, 10)) and rest.token is None


def test_tags_set_overwrite_delete(store) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_batch(run_id, tags=[RunTag("t", "1")])
    store.log_batch(run_id, tags=[RunTag("t", "2")])
    assert store.get_run(run_id).data.tags["t"] == "2"
    store.delete_tag(run_id, "t")
    assert "t" not in store.get_run(run_id).data.tags
    with pytest.raises(HeronException) as excinfo:
        store.delete_tag(run_id, "t")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"metrics": [Metric("m", 1.0, 1, 0)] * 1001}, "at most 1000 metrics"),
        ({"params": [Param(f"p{i}", "v") for i in range(101)]}, "at most 100 params"),
        ({"tags": [RunTag(f"t{i}", "v") for i in range(101)]}, "at most 100 tags"),
        ({"params": [Param("p", "x" * 6001)]}, "exceeds the maximum length of 6000"),
        ({"tags": [RunTag("t", "x" * 8001)]}, "exceeds the maximum length of 8000"),
        ({"metrics": [Metric("bad key!", 1.0, 1, 0)]}, "Invalid metric name"),
        ({"metrics": [Metric("../up", 1.0, 1, 0)]}, "Invalid metric name"),
        ({"metrics": [Metric("m", "high", 1, 0)]}, "invalid value"),  # type: ignore[arg-type]
        ({"metrics": [Metric("m", True, 1, 0)]}, "invalid value"),
        ({"metrics": [Metric("m", 1.0, -1, 0)]}, "invalid timestamp"),
        ({"params": [Param("p", "a"), Param("p", "b")]}, "Duplicate parameter keys"),
    ],
)
def test_batch_validation_is_all_or_nothing(store, kwargs, fragment) -> None:
    run_id = store.create_run("0").info.run_id
    good = {"metrics": [Metric("good", 1.0, 1, 0)]}
    with pytest.raises(HeronException) as excinfo:
        store.log_batch(run_id, **{**good, **kwargs})
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert fragment in excinfo.value.message
    assert store.get_run(run_id).data.metrics == {}


def test_dataset_inputs(store) -> None:
    run_id = store.create_run("0").info.run_id
    dataset = Dataset("train", "abc123", "local", '{"uri": "/data"}', '{"cols": []}', "{}")
    item = DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])
    store.log_inputs(run_id, [item])
    store.log_inputs(run_id, [item])  # idempotent
    inputs = store.get_run(run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset == dataset
    assert inputs[0].tags == [InputTag("mlflow.data.context", "training")]


def test_search_runs_filters_order_and_pages(store) -> None:
    exp_id = store.create_experiment("search")
    ids = []
    for i in range(6):
        run = store.create_run(exp_id, "u", 1000 + i, run_name=f"run-{i}")
        store.log_batch(
            run.info.run_id,
            metrics=[Metric("acc", i / 10, 1, 0)],
            params=[Param("model", "cnn" if i % 2 else "MLP")],
            tags=[RunTag("group", "a" if i < 3 else "b")],
        )
        ids.append(run.info.run_id)
    store.delete_run(ids[5])

    def names(**kwargs):
        return [r.info.run_name for r in store.search_runs([exp_id], **kwargs)]

    assert names() == ["run-4", "run-3", "run-2", "run-1", "run-0"]
    assert names(filter_string="metrics.acc > 0.25") == ["run-4", "run-3"]
    assert names(filter_string="params.model = 'cnn' OR metrics.acc < 0.1") == [
        "run-3",
        "run-1",
        "run-0",
    ]
    assert names(filter_string="params.model ILIKE 'mlp'") == ["run-4", "run-2", "run-0"]
    assert names(filter_string="params.model LIKE 'mlp'") == []
    assert names(
        filter_string="tags.group = 'b' AND (metrics.acc >= 0.4 OR params.model = 'cnn')"
    ) == [
        "run-4",
        "run-3",
    ]
    assert names(filter_string="attributes.run_name IN ('run-1', 'run-2')") == ["run-2", "run-1"]
    assert names(run_view_type=ViewType.DELETED_ONLY) == ["run-5"]
    assert names(order_by=["metrics.acc ASC"]) == ["run-0", "run-1", "run-2", "run-3", "run-4"]
    collected, token = [], None
    while True:
        page = store.search_runs([exp_id], max_results=2, page_token=token, order_by=["run_name"])
        collected += [r.info.run_name for r in page]
        token = page.token
        if not token:
            break
    assert collected == ["run-0", "run-1", "run-2", "run-3", "run-4"]


def test_bad_filter_says_where(store) -> None:
    with pytest.raises(HeronException) as excinfo:
        store.search_runs(["0"], filter_string="metrics.acc >")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "position" in excinfo.value.message
