"""The fast paths of metric ingestion answer exactly as the general ones: log-batch's
one-pass column parsing, the orjson body parser with its stdlib fallback, the valid-key
cache and the DBAPI latest-metrics upsert."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from starlette.testclient import TestClient

from heron.exceptions import HeronException
from heron.server.api.run_data import metric_columns, metric_from
from heron.server.wire import json_loads
from heron.validation import validate_key
from servers import new_run

MLFLOW = "/api/2.0/mlflow"


def post(api: TestClient, path: str, body: bytes | dict[str, Any]) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.post(path, content=content, headers={"content-type": "application/json"})


def history(api: TestClient, run_id: str, key: str) -> list[dict[str, Any]]:
    answer = api.get(f"{MLFLOW}/metrics/get-history", params={"run_id": run_id, "metric_key": key})
    assert answer.status_code == 200, answer.text
    metrics: list[dict[str, Any]] = answer.json().get("metrics", [])
    return metrics


def latest(api: TestClient, run_id: str) -> dict[str, dict[str, Any]]:
    answer = api.get(f"{MLFLOW}/runs/get", params={"run_id": run_id})
    metrics = answer.json()["run"]["data"].get("metrics", [])
    return {m["key"]: m for m in metrics}


ITEMS: list[dict[str, Any]] = [
    {"key": "a", "value": 1.5, "timestamp": 10, "step": 1},
    {"key": "a", "value": 2, "timestamp": 11},  # int value, no step
    {"key": "b", "value": "NaN", "timestamp": "12", "step": "3"},  # strings, as MLflow's JSON
    {"key": "b", "value": "-Infinity", "timestamp": 13.0, "step": None},
    {"key": "c", "value": 7.0, "timestamp": 14, "step": -2},
]


def test_columns_match_the_general_parser() -> None:
    cols = metric_columns(ITEMS)
    metrics = [metric_from(item) for item in ITEMS]
    assert list(cols.keys) == [m.key for m in metrics]
    assert [repr(v) for v in cols.values] == [repr(float(m.value)) for m in metrics]
    assert list(cols.timestamps) == [m.timestamp for m in metrics]
    assert list(cols.steps) == [m.step for m in metrics]
    assert all(type(v) is float for v in cols.values)


@pytest.mark.parametrize(
    "item",
    [
        {"value": 1.0, "timestamp": 1},
        {"key": "", "value": 1.0, "timestamp": 1},
        {"key": 3, "value": 1.0, "timestamp": 1},
        {"key": "k", "timestamp": 1},
        {"key": "k", "value": None, "timestamp": 1},
        {"key": "k", "value": True, "timestamp": 1},
        {"key": "k", "value": "x", "timestamp": 1},
        {"key": "k", "value": 1.0},
        {"key": "k", "value": 1.0, "timestamp": 2**63},
        {"key": "k", "value": 1.0, "timestamp": 1, "step": 2**63},
        {"key": "k", "value": 1.0, "timestamp": 1, "step": False},
        {"key": "k", "value": 1.0, "timestamp": 1.5},
    ],
)
def test_columns_refuse_as_the_general_parser(item: dict[str, Any]) -> None:
    with pytest.raises(HeronException) as general:
        metric_from(item)
    with pytest.raises(HeronException) as fast:
        metric_columns([{"key": "ok", "value": 1.0, "timestamp": 1}, item])
    assert fast.value.message == general.value.message
    assert fast.value.error_code == general.value.error_code


def test_log_batch_stores_mixed_items(api: TestClient) -> None:
    run_id = new_run(api)
    answer = post(api, f"{MLFLOW}/runs/log-batch", {"run_id": run_id, "metrics": ITEMS})
    assert answer.status_code == 200, answer.text
    a = history(api, run_id, "a")
    assert [(m["value"], m["timestamp"], m["step"]) for m in a] == [(2.0, 11, 0), (1.5, 10, 1)]
    b = history(api, run_id, "b")
    assert [(m["value"], m["step"]) for m in b] == [("-Infinity", 0), ("NaN", 3)]
    now = latest(api, run_id)
    assert now["a"]["value"] == 1.5 and now["a"]["step"] == 1
    assert now["b"]["value"] == "NaN" and now["c"]["step"] == -2


def test_log_batch_errors_unchanged(api: TestClient) -> None:
    run_id = new_run(api)
    bad = {"run_id": run_id, "metrics": [*ITEMS, {"key": "k", "value": True, "timestamp": 1}]}
    answer = post(api, f"{MLFLOW}/runs/log-batch", bad)
    assert answer.status_code == 400
    assert "Invalid value True for parameter 'value'" in answer.json()["message"]
    negative = {"run_id": run_id, "metrics": [{"key": "k", "value": 1.0, "timestamp": -1}]}
    answer = post(api, f"{MLFLOW}/runs/log-batch", negative)
    assert answer.status_code == 400
    assert "Timestamp must be a nonnegative long" in answer.json()["message"]
    bad_key = {"run_id": run_id, "metrics": [{"key": "../x", "value": 1.0, "timestamp": 1}]}
    answer = post(api, f"{MLFLOW}/runs/log-batch", bad_key)
    assert answer.status_code == 400
    assert "Invalid metric name: '../x'" in answer.json()["message"]
    assert history(api, run_id, "a") == []  # nothing of a refused batch is stored
    too_many = {"run_id": run_id, "metrics": [ITEMS[0]] * 1001}
    answer = post(api, f"{MLFLOW}/runs/log-batch", too_many)
    assert "at most 1000 metrics. Got 1001 metrics" in answer.json()["message"]
    unknown = {"run_id": "f" * 32, "metrics": [ITEMS[0]]}
    assert post(api, f"{MLFLOW}/runs/log-batch", unknown).status_code == 404


def test_latest_value_keeps_the_newest(api: TestClient) -> None:
    run_id = new_run(api)
    path = f"{MLFLOW}/runs/log-batch"
    post(
        api,
        path,
        {"run_id": run_id, "metrics": [{"key": "m", "value": 1.0, "timestamp": 5, "step": 9}]},
    )
    post(
        api,
        path,
        {"run_id": run_id, "metrics": [{"key": "m", "value": 2.0, "timestamp": 9, "step": 3}]},
    )
    assert latest(api, run_id)["m"]["value"] == 1.0  # a smaller step does not win
    post(
        api,
        path,
        {"run_id": run_id, "metrics": [{"key": "m", "value": 3.0, "timestamp": 5, "step": 9}]},
    )
    assert latest(api, run_id)["m"]["value"] == 3.0  # equal step and timestamp: the later wins
    post(
        api,
        path,
        {"run_id": run_id, "metrics": [{"key": "m", "value": 4.0, "timestamp": 4, "step": 9}]},
    )
    assert latest(api, run_id)["m"]["value"] == 3.0  # equal step, earlier timestamp: kept


def test_json_bodies_orjson_refuses_still_parse(api: TestClient) -> None:
    run_id = new_run(api)
    body = b'{"run_id": "%s", "metrics": [{"key": "n", "value": NaN, "timestamp": 1}]}' % (
        run_id.encode()
    )
    answer = post(api, f"{MLFLOW}/runs/log-batch", body)
    assert answer.status_code == 200, answer.text
    assert history(api, run_id, "n")[0]["value"] == "NaN"
    assert math.isnan(json_loads(b"NaN"))
    assert json_loads(b'"\\ud800"') == json.loads(b'"\\ud800"')  # a lone surrogate
    answer = post(api, f"{MLFLOW}/runs/log-batch", b'{"run_id": ')
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("Malformed JSON request body")


def test_valid_key_cache_keeps_refusing() -> None:
    assert validate_key("loss", "metric") == "loss"
    assert validate_key("loss", "metric") == "loss"
    for bad in ("", "a//b", "/a", "..", "x" * 251, "a\nb"):
        for _ in range(2):
            with pytest.raises(HeronException):
                validate_key(bad, "metric")
    with pytest.raises(HeronException, match="Invalid param name: None"):
        validate_key(None, "param")


@pytest.mark.parametrize("field", ["run_id", "metrics", "params"])
def test_deeply_nested_log_batch_is_a_bad_request(api: TestClient, field: str) -> None:
    body = b'{"%s": ' % field.encode() + b"[" * 1000 + b"]" * 1000 + b"}"
    answer = post(api, f"{MLFLOW}/runs/log-batch", body)
    assert answer.status_code == 400, answer.text
