"""The fast paths of run search give what the plain ones give.

``load_run_dicts`` (the server's search answer, straight from rows) against the JSON-safe
``to_dict`` of ``load_runs``; the server's bytes against the generic JSON writer; and the
client's quick reading of a run against the lenient one.
"""

from __future__ import annotations

import math

import orjson
import pytest

from heron.backends import wire_entities
from heron.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
from heron.server.wire import _json_safe

NASTY = [0.5, math.nan, math.inf, -math.inf, 1e308, -0.0, 3]


def _populate(store) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    exp = store.create_experiment("wire")
    ids = []
    for i in range(12):
        run = store.create_run(exp, user_id="ann", start_time=1000 + i, tags=[], run_name=f"r{i}")
        rid = run.info.run_id
        ids.append(rid)
        value = NASTY[i % len(NASTY)]
        store.log_batch(
            rid,
            metrics=[Metric("m", float(value), 5, 2), Metric("acc", i / 10, 7, 1)],
            params=[Param("lr", str(i)), Param("z", "é ✓")],
            tags=[RunTag("team", "vision" if i % 2 else "nlp")],
        )
        if i % 3 == 0:
            store.log_inputs(
                rid,
                [
                    DatasetInput(
                        Dataset("ds", "d1", "local", "/x", schema=None, profile="p"),
                        [InputTag("mlflow.data.context", "train")],
                    )
                ],
            )
        if i % 4 == 0:
            store.update_run_info(rid, status="FINISHED", end_time=2000 + i)
    return exp, ids


def test_run_dicts_match_entities(store) -> None:  # type: ignore[no-untyped-def]
    exp, _ = _populate(store)
    for order in (None, ["metrics.m DESC"], ["params.lr"], ["attributes.run_name"]):
        for flt in (None, "metrics.acc > 0.3", "tags.team = 'vision'"):
            runs = store.search_runs([exp], flt, max_results=5, order_by=order)
            dicts = store.search_run_dicts([exp], flt, max_results=5, order_by=order)
            assert dicts.token == runs.token
            assert list(dicts) == [_json_safe(r.to_dict()) for r in runs]
            expected = orjson.dumps([_json_safe(r.to_dict()) for r in runs])
            assert orjson.dumps(list(dicts)) == expected


def test_load_runs_entities_behave(store) -> None:  # type: ignore[no-untyped-def]
    exp, _ = _populate(store)
    run = store.search_runs([exp], "params.lr = '2'")[0]
    same = store.get_run(run.info.run_id)
    assert run == same and hash(run.info) == hash(same.info)
    assert repr(run.info) == repr(same.info)
    with pytest.raises(AttributeError):
        run.info.status = "x"  # type: ignore[misc]
    assert math.isinf(run.data.metrics["m"])
    assert run.data.metric_objs[0].run_id is None


def test_server_answer_bytes(live_server: str) -> None:
    import httpx

    from heron.client import HeronClient

    client = HeronClient(live_server)
    store_like = client.backend
    exp, _ = _populate(store_like)
    body = {"experiment_ids": [exp], "max_results": 5}
    answer = httpx.post(f"{live_server}/api/2.0/mlflow/runs/search", json=body)
    payload = orjson.loads(answer.content)
    assert answer.headers["content-type"] == "application/json"
    assert "next_page_token" in payload
    last = httpx.post(
        f"{live_server}/api/2.0/mlflow/runs/search", json={**body, "max_results": 100}
    )
    assert "next_page_token" not in orjson.loads(last.content)
    runs = client.search_runs([exp], max_results=100)
    parsed = [wire_entities.run_from_dict(d) for d in orjson.loads(last.content)["runs"]]
    assert repr(parsed) == repr(list(runs))  # repr: NaN is not equal to itself
    metric_values = {m.value for r in runs for m in r.data.metric_objs if m.key == "m"}
    assert math.inf in metric_values and -math.inf in metric_values
    assert any(math.isnan(v) for v in metric_values)
    assert any(r.inputs.dataset_inputs for r in runs)


@pytest.mark.parametrize(
    "info",
    [
        {
            "run_id": "a",
            "run_uuid": "a",
            "run_name": "n",
            "experiment_id": "1",
            "user_id": "u",
            "status": "FINISHED",
            "start_time": 1,
            "end_time": 2,
            "artifact_uri": "x",
            "lifecycle_stage": "active",
        },
        {"run_id": "a", "status": "RUNNING", "start_time": 1},
        {"run_uuid": "a", "status": "finished", "start_time": "1"},
        {"run_id": "a", "status": 3, "end_time": "5"},
        {"run_id": "a", "experiment_id": 7},
    ],
)
def test_run_info_fast_path_matches(info: dict) -> None:  # type: ignore[type-arg]
    fast = wire_entities.run_info_from_dict(info)
    slow = wire_entities.RunInfo(
        run_id=str(info.get("run_id") or info["run_uuid"]),
        experiment_id=str(info.get("experiment_id", "")),
        run_name=str(info.get("run_name", "")),
        user_id=str(info.get("user_id", "")),
        status=wire_entities._run_status(info.get("status", "RUNNING")),
        start_time=wire_entities._int_or_none(info.get("start_time")),
        end_time=wire_entities._int_or_none(info.get("end_time")),
        artifact_uri=str(info.get("artifact_uri", "")),
        lifecycle_stage=str(info.get("lifecycle_stage", "active")),
    )
    assert fast == slow and repr(fast) == repr(slow)


@pytest.mark.parametrize(
    "metric",
    [
        {"key": "a", "value": 0.5, "timestamp": 1, "step": 2},
        {"key": "a", "value": "NaN", "timestamp": 1, "step": 2},
        {"key": "a", "value": 1, "timestamp": "1", "step": 2},
        {"key": "a", "value": 0.5, "timestamp": 1},
        {"key": "a", "value": 0.5, "timestamp": 1, "step": 2, "run_id": "r"},
    ],
)
def test_metric_fast_path_matches(metric: dict) -> None:  # type: ignore[type-arg]
    fast = wire_entities._run_metric(metric)
    slow = wire_entities.metric_from_dict(metric)
    assert repr(fast) == repr(slow)
