"""/api/2.0/heron/metrics/log-bulk and /metrics/histories, and MLflow's metric routes that
now read through the same columns, over the real app in-process."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from heron.validation import REQUEST_ID_HEADER
from servers import new_run

HERON = "/api/2.0/heron/metrics"
MLFLOW = "/api/2.0/mlflow"


def bulk(api: TestClient, body: Any, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.post(
        f"{HERON}/log-bulk",
        content=content,
        headers={"content-type": "application/json", **headers},
    )


def columns(n: int, key: str = "loss") -> dict[str, Any]:
    return {
        "key": [key] * n,
        "value": [i / 2 for i in range(n)],
        "timestamp": [1000 + i for i in range(n)],
        "step": list(range(n)),
    }


def histories(api: TestClient, **params: Any) -> Any:
    answer = api.get(f"{HERON}/histories", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()["histories"]


def test_log_bulk_and_read_back(api: TestClient) -> None:
    a, b = new_run(api), new_run(api)
    body = {
        "runs": [
            {"run_id": a, "metrics": columns(300)},
            {
                "run_id": b,
                "metrics": {"key": "acc", "value": [1, "NaN", "Infinity"], "timestamp": 7},
            },
            {
                "run_id": a,
                "metrics": {
                    "key": ["x", "y"],
                    "value": ["-Infinity", 2.5],
                    "timestamp": 5,
                    "step": 3,
                },
            },
        ]
    }
    answer = bulk(api, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"points": 305}
    got = histories(api, run_id=[a, b], metric_key=["loss", "acc", "x"])
    assert [(h["run_id"], h["key"]) for h in got] == [(a, "loss"), (a, "x"), (b, "acc")]
    assert got[0]["steps"] == list(range(300))
    assert got[0]["values"] == [i / 2 for i in range(300)]
    assert got[0]["timestamps"] == [1000 + i for i in range(300)]
    assert got[1] == {
        "run_id": a,
        "key": "x",
        "steps": [3],
        "values": ["-Infinity"],
        "timestamps": [5],
    }
    assert got[2]["values"] == [1.0, "NaN", "Infinity"] and got[2]["steps"] == [0, 0, 0]


def test_histories_options_and_post_twin(api: TestClient) -> None:
    run_id = new_run(api)
    assert bulk(api, {"runs": [{"run_id": run_id, "metrics": columns(5000)}]}).status_code == 200
    (small,) = histories(api, run_id=run_id, metric_key="loss", max_points=50)
    assert len(small["steps"]) <= 50 and small["steps"][0] == 0 and small["steps"][-1] == 4999
    (part,) = histories(api, run_id=run_id, metric_key="loss", start_step=10, end_step=12)
    assert part["steps"] == [10, 11, 12]
    answer = api.post(f"{HERON}/histories", json={"run_id": [run_id], "metric_key": ["loss"]})
    assert answer.status_code == 200 and len(answer.json()["histories"][0]["steps"]) == 5000
    assert histories(api, run_id=uuid.uuid4().hex, metric_key="loss") == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"run_id": "a" * 32},
        {"metric_key": "m"},
        {"run_id": "a" * 32, "metric_key": "m", "max_points": "many"},
        {"run_id": "a" * 32, "metric_key": "m", "max_points": 1},
        {"run_id": "a" * 32, "metric_key": "m", "start_step": 3, "end_step": 2},
        {"run_id": "bad id", "metric_key": "m"},
    ],
)
def test_bad_history_requests(api: TestClient, params: dict[str, Any]) -> None:
    answer = api.get(f"{HERON}/histories", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "body",
    [
        b"{bad",
        b"NaN",
        b'{"runs": [',
        {},
        {"runs": "x"},
        {"runs": [{"metrics": columns(2)}]},
        {"runs": [{"run_id": 5, "metrics": columns(2)}]},
        {"runs": [{"run_id": "RUN", "metrics": [1, 2]}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "value": 3}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "step": [1]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "key": ["a"]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "timestamp": "now"}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "timestamp": None}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "key": None}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "value": [1, "high"]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "value": [1, {"a": 1}]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "value": [1, True]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "step": [1, 2**70]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "step": [1, 1.5]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "timestamp": [1, -1]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "key": ["a", 5]}}]},
        {"runs": [{"run_id": "RUN", "metrics": {**columns(2), "key": ["a", "b!"]}}]},
    ],
)
def test_bad_bulk_bodies_are_400_and_store_nothing(api: TestClient, body: Any) -> None:
    run_id = new_run(api)
    if isinstance(body, dict):
        body = json.loads(json.dumps(body).replace("RUN", run_id))
    answer = bulk(api, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE", answer.text
    assert histories(api, run_id=run_id, metric_key=["loss", "a"]) == []


def test_bulk_for_a_missing_run_is_404(api: TestClient) -> None:
    answer = bulk(api, {"runs": [{"run_id": uuid.uuid4().hex, "metrics": columns(2)}]})
    assert answer.status_code == 404 and answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_a_request_id_applies_once(api: TestClient) -> None:
    run_id = new_run(api)
    body = {"runs": [{"run_id": run_id, "metrics": columns(10)}]}
    request_id = str(uuid.uuid4())
    for _ in range(3):
        answer = bulk(api, body, **{REQUEST_ID_HEADER: request_id})
        assert answer.json() == {"points": 10}
    (got,) = histories(api, run_id=run_id, metric_key="loss")
    assert len(got["steps"]) == 10
    assert bulk(api, body, **{REQUEST_ID_HEADER: "bad id!"}).status_code == 400


# ---- MLflow's metric routes ------------------------------------------------------------------


def test_get_history_pages_with_keyset_tokens(api: TestClient) -> None:
    run_id = new_run(api)
    data = {
        "key": "m",
        "value": [1.0, "NaN", 3.0, "Infinity", 5.0],
        "timestamp": 9,
        "step": [2, 1, 1, 0, 3],
    }
    bulk(api, {"runs": [{"run_id": run_id, "metrics": data}]})
    seen, token = [], None
    while True:
        params = {"run_id": run_id, "metric_key": "m", "max_results": 2}
        answer = api.get(
            f"{MLFLOW}/metrics/get-history", params={**params, "page_token": token or ""}
        )
        assert answer.status_code == 200, answer.text
        seen.extend(answer.json()["metrics"])
        token = answer.json().get("next_page_token")
        if not token:
            break
    assert [(p["step"], p["value"]) for p in seen] == [
        (0, "Infinity"),
        (1, "NaN"),
        (1, 3.0),
        (2, 1.0),
        (3, 5.0),
    ]
    assert "run_id" not in seen[0]
    bad = {"run_id": run_id, "metric_key": "m", "page_token": "garbage"}
    answer = api.get(f"{MLFLOW}/metrics/get-history", params=bad)
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_bulk_interval_and_bulk_read_the_columns(api: TestClient) -> None:
    a, b = new_run(api), new_run(api)
    bulk(api, {"runs": [{"run_id": r, "metrics": columns(1000, "m")} for r in (a, b)]})
    params = {"run_ids": [a, b], "metric_key": "m", "max_results": 11}
    points = api.get(f"{MLFLOW}/metrics/get-history-bulk-interval", params=params).json()["metrics"]
    assert [p["step"] for p in points if p["run_id"] == a] == [round(i * 99.9) for i in range(11)]
    params = {**params, "start_step": 100, "end_step": 200, "max_results": 3}
    points = api.get(f"{MLFLOW}/metrics/get-history-bulk-interval", params=params).json()["metrics"]
    assert [p["step"] for p in points] == [100, 150, 200] * 2
    params = {"run_id": [a, b], "metric_key": "m", "max_results": 1500}
    points = api.get(f"{MLFLOW}/metrics/get-history-bulk", params=params).json()["metrics"]
    assert len(points) == 1500 and points[1000]["run_id"] == b and points[1000]["step"] == 0
    assert set(points[0]) == {"key", "value", "timestamp", "step", "run_id"}
