"""Dataset inputs, described as mlflow.data describes them, logged and searched."""

from __future__ import annotations

import json

import pytest

import heron


def test_from_pandas_log_input_and_search() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    dataset = heron.data.from_pandas(frame, source="/data/train.csv", targets="label", name="train")
    assert dataset.source_type == "local"
    assert json.loads(dataset.profile) == {"num_rows": 3, "num_elements": 6}
    assert json.loads(dataset.schema)["mlflow_colspec"][0] == {
        "type": "double",
        "name": "x",
        "required": True,
    }
    assert heron.data.from_pandas(frame).digest == dataset.digest  # same content, same digest
    with heron.start_run() as run:
        heron.log_input(dataset, context="training")
    logged = heron.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest) for d in logged] == [("train", dataset.digest)]
    assert logged[0].tags[0].value == "training"
    found = heron.search_runs(
        filter_string="datasets.name = 'train' AND datasets.context IN ('training')",
        output_format="list",
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_from_numpy() -> None:
    np = pytest.importorskip("numpy")
    dataset = heron.data.from_numpy(np.zeros((4, 2)), targets=np.ones(4))
    assert dataset.name == "dataset" and dataset.source_type == "code"
    assert json.loads(dataset.profile)["features_shape"] == [4, 2]
    with heron.start_run() as run:
        heron.log_input(dataset)
    assert heron.get_run(run.info.run_id).inputs.dataset_inputs[0].dataset.digest == dataset.digest


def test_tracking_module_alias() -> None:
    assert heron.tracking.MlflowClient is heron.MlflowClient
