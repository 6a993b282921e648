"""MLflow's wire rules, checked with raw HTTP against a live server: query strings, twins,
JSON shapes, meta routes, metric sampling and the artifact proxy."""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from heron.version import VERSION
from servers import running_server

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts"


@pytest.fixture(scope="module")
def server_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("wire")
    with running_server(folder) as url:
        yield url, folder


@pytest.fixture(scope="module")
def api(server_folder: tuple[str, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_folder[0], timeout=30) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error_code"] == code
    assert isinstance(body["message"], str) and body["message"]
    message: str = body["message"]
    return message


@pytest.fixture(scope="module")
def experiment_id(api: httpx.Client) -> str:
    eid: str = ok(api.post(f"{API}/experiments/create", json={"name": f"wire-{uuid.uuid4()}"}))[
        "experiment_id"
    ]
    return eid


def new_run(api: httpx.Client, experiment_id: str, **fields: Any) -> str:
    body = {"experiment_id": experiment_id, **fields}
    run_id: str = ok(api.post(f"{API}/runs/create", json=body))["run"]["info"]["run_id"]
    return run_id


def log_steps(api: httpx.Client, run_id: str, key: str, steps: list[int]) -> None:
    metrics = [{"key": key, "value": s / 2, "timestamp": 1000 + s, "step": s} for s in steps]
    ok(api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}))


@pytest.fixture(scope="module")
def two_runs(api: httpx.Client, experiment_id: str) -> tuple[str, str]:
    """One run with metric m at steps 0..19, one with m at step 3 only."""
    first, second = new_run(api, experiment_id), new_run(api, experiment_id)
    log_steps(api, first, "m", list(range(20)))
    log_steps(api, second, "m", [3])
    return first, second


# --- query strings, twins and JSON shapes ----------------------------------------------------


def test_get_reads_repeated_query_keys_as_lists(
    api: httpx.Client, two_runs: tuple[str, str]
) -> None:
    first, second = two_runs
    answer = ok(
        api.get(
            f"{API}/metrics/get-history-bulk-interval?run_ids={first}&run_ids={second}&metric_key=m"
        )
    )
    by_run: dict[str, list[int]] = {}
    for point in answer["metrics"]:
        assert set(point) == {"key", "value", "timestamp", "step", "run_id"}
        by_run.setdefault(point["run_id"], []).append(point["step"])
    assert by_run == {first: list(range(20)), second: [3]}
    bulk = ok(
        api.get(f"{API}/metrics/get-history-bulk?run_id={first}&run_id={second}&metric_key=m")
    )
    assert len(bulk["metrics"]) == 21


def test_get_repeated_order_by_keys(api: httpx.Client) -> None:
    prefix = f"order-{uuid.uuid4().hex[:8]}"
    for name in ("b", "a", "c"):
        ok(api.post(f"{API}/experiments/create", json={"name": f"{prefix}-{name}"}))
    params = [
        ("filter", f"name LIKE '{prefix}-%'"),
        ("order_by", "name DESC"),
        ("max_results", "2"),
    ]
    page = ok(api.get(f"{API}/experiments/search", params=params))
    assert [e["name"] for e in page["experiments"]] == [f"{prefix}-c", f"{prefix}-b"]
    rest = ok(
        api.get(
            f"{API}/experiments/search", params=[*params, ("page_token", page["next_page_token"])]
        )
    )
    assert [e["name"] for e in rest["experiments"]] == [f"{prefix}-a"]
    assert "next_page_token" not in rest


def test_get_without_a_query_string_reads_a_json_body(
    api: httpx.Client, two_runs: tuple[str, str]
) -> None:
    answer = ok(api.request("GET", f"{API}/runs/get", json={"run_id": two_runs[0]}))
    assert answer["run"]["info"]["run_id"] == two_runs[0]
    assert ok(api.get(f"{API}/runs/get", params={"run_uuid": two_runs[0]})) == answer


@pytest.mark.parametrize(
    "path",
    [
        "/runs/get?run_id={run}",
        "/experiments/get?experiment_id={experiment}",
        "/metrics/get-history?run_id={run}&metric_key=m",
        "/metrics/get-history-bulk-interval?run_ids={run}&metric_key=m&max_results=3",
        "/artifacts/list?run_id={run}",
        "/experiments/search?filter=name%20LIKE%20%27wire-%25%27",
    ],
)
def test_ajax_api_twins_answer_the_same(
    api: httpx.Client, two_runs: tuple[str, str], experiment_id: str, path: str
) -> None:
    path = path.format(run=two_runs[0], experiment=experiment_id)
    assert ok(api.get(f"/ajax-api/2.0/mlflow{path}")) == ok(api.get(f"{API}{path}"))


def test_ajax_api_twins_of_post_routes(api: httpx.Client, experiment_id: str) -> None:
    body = {"experiment_ids": [experiment_id], "max_results": 5, "order_by": ["start_time ASC"]}
    assert ok(api.post("/ajax-api/2.0/mlflow/runs/search", json=body)) == ok(
        api.post(f"{API}/runs/search", json=body)
    )
    run_id = new_run(api, experiment_id)
    tag = {"run_id": run_id, "key": "via", "value": "ajax"}
    assert ok(api.post("/ajax-api/2.0/mlflow/runs/set-tag", json=tag)) == {}
    tags = ok(api.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]["data"]["tags"]
    assert {"key": "via", "value": "ajax"} in tags


def test_int64_fields_are_json_numbers(api: httpx.Client, experiment_id: str) -> None:
    big = 2**62 + 1  # far beyond a double's exact integers
    run_id = new_run(api, experiment_id, start_time=big)
    metric = {"run_id": run_id, "key": "m", "value": 1.5, "timestamp": 2**63 - 1, "step": -(2**63)}
    ok(api.post(f"{API}/runs/log-metric", json=metric))
    response = api.get(f"{API}/runs/get", params={"run_id": run_id})
    assert re.search(rf'"start_time":\s*{big}\b', response.text)
    run = response.json()["run"]
    assert run["info"]["start_time"] == big
    assert run["data"]["metrics"] == [
        {"key": "m", "value": 1.5, "timestamp": 2**63 - 1, "step": -(2**63)}
    ]
    history = api.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    assert re.search(rf'"timestamp":\s*{2**63 - 1}\b', history.text)
    experiment = ok(api.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))
    assert isinstance(experiment["experiment"]["creation_time"], int)


def test_enums_are_names_and_accept_numbers(api: httpx.Client, experiment_id: str) -> None:
    run_id = new_run(api, experiment_id)
    info = ok(api.post(f"{API}/runs/update", json={"run_id": run_id, "status": "FINISHED"}))
    assert info["run_info"]["status"] == "FINISHED"
    info = ok(api.post(f"{API}/runs/update", json={"run_id": run_id, "status": 4}))
    assert info["run_info"]["status"] == "FAILED"
    assert re.search(r'"status":\s*"FAILED"', api.get(f"{API}/runs/get?run_id={run_id}").text)
    ok(api.post(f"{API}/runs/delete", json={"run_id": run_id}))
    for view in ("DELETED_ONLY", 2, "2"):
        body = {"experiment_ids": [experiment_id], "run_view_type": view}
        found = ok(api.post(f"{API}/runs/search", json=body))["runs"]
        assert [r["info"]["run_id"] for r in found] == [run_id]
        assert found[0]["info"]["lifecycle_stage"] == "deleted"
    bad = api.post(f"{API}/runs/update", json={"run_id": run_id, "status": "DONE"})
    error(bad, 400, "INVALID_PARAMETER_VALUE")


def test_nan_and_infinity_are_written_as_mlflow_writes_them(
    api: httpx.Client, experiment_id: str
) -> None:
    run_id = new_run(api, experiment_id)
    for step, value in enumerate(["NaN", "Infinity", "-Infinity"]):
        metric = {"run_id": run_id, "key": "m", "value": value, "timestamp": 1, "step": step}
        ok(api.post(f"{API}/runs/log-metric", json=metric))
    history = api.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    assert [m["value"] for m in history.json()["metrics"]] == ["NaN", "Infinity", "-Infinity"]


# --- meta routes and unknown routes -----------------------------------------------------------


def test_health_and_version(api: httpx.Client) -> None:
    health = api.get("/health")
    assert (health.status_code, health.text) == (200, "OK")
    version = api.get("/version")
    assert (version.status_code, version.text) == (200, VERSION)
    for root in ("api", "ajax-api"):
        info = ok(api.get(f"/{root}/3.0/mlflow/server-info"))
        assert info == {"store_type": "SqlStore", "workspaces_enabled": False}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", f"{API}/nope"),
        ("POST", f"{API}/nope"),
        ("GET", "/ajax-api/2.0/mlflow/nope"),
        ("GET", f"{API}/runs/get/extra"),
        ("GET", "/api/2.0/mlflow/registered-models/search"),
        ("POST", "/api/3.0/mlflow/traces/search"),
        ("POST", "/graphql"),
        ("DELETE", "/api/2.0/mlflow-artifacts"),
    ],
)
def test_unknown_routes_are_json_endpoint_not_found(
    api: httpx.Client, method: str, path: str
) -> None:
    message = error(api.request(method, path, json={}), 404, "ENDPOINT_NOT_FOUND")
    assert path in message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{API}/runs/create"),
        ("POST", f"{API}/runs/get"),
        ("DELETE", f"{API}/experiments/get"),
        ("PUT", f"{API}/experiments/search"),
        ("POST", "/health"),
    ],
)
def test_wrong_methods_are_json_errors(api: httpx.Client, method: str, path: str) -> None:
    # 405 as MLflow answers, but with MLflow's JSON error shape instead of its HTML page.
    message = error(api.request(method, path, json={}), 405, "ENDPOINT_NOT_FOUND")
    assert method in message


# --- get-history-bulk-interval sampling -----------------------------------------------------


def sampled_steps(api: httpx.Client, run_id: str, **params: Any) -> list[int]:
    query = {"run_ids": run_id, "metric_key": "m", **params}
    answer = ok(api.get(f"{API}/metrics/get-history-bulk-interval", params=query))
    return [m["step"] for m in answer["metrics"]]


@pytest.mark.parametrize("max_results", [1, 2, 3, 4, 5, 7, 19])
def test_sampling_keeps_at_most_max_results_steps_with_the_ends(
    api: httpx.Client, two_runs: tuple[str, str], max_results: int
) -> None:
    steps = sampled_steps(api, two_runs[0], max_results=max_results)
    assert steps == sorted(set(steps))
    assert set(steps) <= set(range(20))
    assert len(steps) == max_results
    if max_results > 1:
        assert (steps[0], steps[-1]) == (0, 19)


def test_sampling_with_a_step_range(api: httpx.Client, two_runs: tuple[str, str]) -> None:
    first = two_runs[0]
    assert sampled_steps(api, first, start_step=5, end_step=8) == [5, 6, 7, 8]
    window = sampled_steps(api, first, start_step=5, end_step=15, max_results=3)
    assert len(window) == 3 and (window[0], window[-1]) == (5, 15)
    assert sampled_steps(api, first, start_step=30, end_step=40) == []
    assert sampled_steps(api, first, max_results=2500) == list(range(20))
    assert sampled_steps(api, first) == list(range(20))


def test_sampling_is_per_run(api: httpx.Client, two_runs: tuple[str, str]) -> None:
    first, second = two_runs
    query = {"run_ids": [first, second], "metric_key": "m", "max_results": 2}
    answer = ok(api.get(f"{API}/metrics/get-history-bulk-interval", params=query))
    assert [(m["run_id"], m["step"]) for m in answer["metrics"]] == [
        (first, 0),
        (first, 19),
        (second, 3),
    ]


@pytest.mark.parametrize(
    "query",
    [
        "run_ids={run}&metric_key=m&start_step=3",
        "run_ids={run}&metric_key=m&end_step=3",
        "run_ids={run}&metric_key=m&start_step=5&end_step=3",
        "run_ids={run}&metric_key=m&max_results=0",
        "run_ids={run}&metric_key=m&max_results=2501",
        "run_ids={run}&metric_key=m&max_results=ten",
        "run_ids={run}&metric_key=m&start_step=a&end_step=b",
        "run_ids={run}",
        "metric_key=m",
        "&".join(f"run_ids=r{i}" for i in range(101)) + "&metric_key=m",
    ],
)
def test_sampling_request_validation(
    api: httpx.Client, two_runs: tuple[str, str], query: str
) -> None:
    url = f"{API}/metrics/get-history-bulk-interval?" + query.format(run=two_runs[0])
    error(api.get(url), 400, "INVALID_PARAMETER_VALUE")


# --- artifact proxy ---------------------------------------------------------------------------


def test_proxy_put_get_list_delete(api: httpx.Client, server_folder: tuple[str, Path]) -> None:
    folder = f"wire-{uuid.uuid4().hex[:8]}"
    payload = bytes(range(256)) * 40
    assert ok(api.put(f"{PROXY}/artifacts/{folder}/sub/data.bin", content=payload)) == {}
    assert ok(api.put(f"{PROXY}/artifacts/{folder}/top.txt", content=b"top")) == {}
    got = api.get(f"{PROXY}/artifacts/{folder}/sub/data.bin")
    assert (got.status_code, got.content) == (200, payload)
    stored = [p for p in server_folder[1].rglob("data.bin") if folder in str(p)]
    assert len(stored) == 1 and stored[0].read_bytes() == payload
    listing = ok(api.get(f"{PROXY}/artifacts", params={"path": folder}))
    assert listing == {
        "files": [
            {"path": "sub", "is_dir": True},
            {"path": "top.txt", "is_dir": False, "file_size": 3},
        ]
    }
    listing = ok(api.get(f"/ajax-api/2.0/mlflow-artifacts/artifacts?path={folder}/sub"))
    assert listing == {"files": [{"path": "data.bin", "is_dir": False, "file_size": len(payload)}]}
    root = ok(api.get(f"{PROXY}/artifacts"))["files"]
    assert {"path": folder, "is_dir": True} in root
    assert ok(api.delete(f"{PROXY}/artifacts/{folder}/sub/data.bin")) == {}
    error(api.get(f"{PROXY}/artifacts/{folder}/sub/data.bin"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert ok(api.delete(f"{PROXY}/artifacts/{folder}/sub/data.bin")) == {}  # as MLflow does


def test_proxy_get_of_a_folder_or_missing_file_is_an_error(api: httpx.Client) -> None:
    folder = f"wire-{uuid.uuid4().hex[:8]}"
    ok(api.put(f"{PROXY}/artifacts/{folder}/a.txt", content=b"a"))
    folder_answer = api.get(f"{PROXY}/artifacts/{folder}")
    assert 400 <= folder_answer.status_code < 500 and "error_code" in folder_answer.json()
    error(api.get(f"{PROXY}/artifacts/{folder}/missing.txt"), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("root", ["/api", "/ajax-api"])
@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("create", {"path": "big.bin", "num_parts": 2}),
        ("complete", {"path": "big.bin", "upload_id": "u1", "parts": []}),
        ("abort", {"path": "big.bin", "upload_id": "u1"}),
    ],
)
def test_multipart_upload_is_not_implemented(
    api: httpx.Client, root: str, action: str, body: dict[str, Any]
) -> None:
    url = f"{root}/2.0/mlflow-artifacts/mpu/{action}/wire/big.bin"
    error(api.post(url, json=body), 501, "NOT_IMPLEMENTED")


EVIL = "heron-evil-file"  # fixed, so test ids are the same in every xdist worker

TRAVERSALS = [
    f"../{EVIL}.txt",
    f"a/../../{EVIL}.txt",
    f"../../../{EVIL}.txt",
    f"%2e%2e/{EVIL}.txt",
    f"%2E%2E%2F%2E%2E%2F{EVIL}.txt",
    f"a/%2e%2e/%2e%2e/%2e%2e/{EVIL}.txt",
    f"..%2f..%2f{EVIL}.txt",
    f"..%5c..%5c{EVIL}.txt",
    f"%2Ftmp%2F{EVIL}.txt",
    f"/tmp/{EVIL}.txt",
    f"C:%2F{EVIL}.txt",
    f"a%00/{EVIL}.txt",
]


def raw_request(url: str, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """Send ``path`` byte for byte: httpx would normalise the '..' segments away."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_proxy_refuses_path_traversal(server_folder: tuple[str, Path], path: str) -> None:
    url, folder = server_folder
    for method in ("PUT", "GET", "DELETE"):
        status, body = raw_request(url, method, f"{PROXY}/artifacts/{path}", b"owned")
        assert 400 <= status < 500, (method, status, body)
        assert "error_code" in json.loads(body)
    status, _ = raw_request(url, "GET", f"{PROXY}/artifacts?path={path}")
    assert 400 <= status < 500
    written = [*folder.parent.rglob(f"{EVIL}*"), *Path("/tmp").glob(f"{EVIL}*")]
    assert written == []


def test_run_artifact_listing_refuses_path_traversal(api: httpx.Client, experiment_id: str) -> None:
    run_id = new_run(api, experiment_id)
    for path in ("..", "../..", "../../etc", "/etc", "a/../../b"):
        answer = api.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": path})
        error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_no_serve_artifacts(tmp_path: Path) -> None:
    with running_server(tmp_path, "--no-serve-artifacts") as url, httpx.Client(base_url=url) as c:
        error(c.put(f"{PROXY}/artifacts/a.txt", content=b"a"), 503, "TEMPORARILY_UNAVAILABLE")
        error(c.get(f"{PROXY}/artifacts/a.txt"), 503, "TEMPORARILY_UNAVAILABLE")
        error(c.get(f"{PROXY}/artifacts"), 503, "TEMPORARILY_UNAVAILABLE")
        eid = ok(c.post(f"{API}/experiments/create", json={"name": "local"}))["experiment_id"]
        experiment = ok(c.get(f"{API}/experiments/get", params={"experiment_id": eid}))
        assert not experiment["experiment"]["artifact_location"].startswith("mlflow-artifacts:")


def test_proxy_delete_of_the_root_keeps_every_artifact(tmp_path: Path) -> None:
    # Its own server: on today's code this test wipes the artifact destination.
    with running_server(tmp_path) as url, httpx.Client(base_url=url) as c:
        ok(c.put(f"{PROXY}/artifacts/keep/me.txt", content=b"precious"))
        for path in ("", ".", "./", ".//."):
            status, _ = raw_request(url, "DELETE", f"{PROXY}/artifacts/{path}")
            assert 400 <= status < 500, path
            assert c.get(f"{PROXY}/artifacts/keep/me.txt").content == b"precious"


def test_proxy_put_without_a_file_name(server_folder: tuple[str, Path]) -> None:
    with httpx.Client(base_url=server_folder[0]) as fresh:  # a 500 closes the connection
        answer = fresh.put(f"{PROXY}/artifacts/", content=b"x")
    error(answer, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("where", ["proxy-put", "run-list"])
def test_artifact_names_too_long_for_the_file_system(
    server_folder: tuple[str, Path], experiment_id: str, where: str
) -> None:
    with httpx.Client(base_url=server_folder[0]) as fresh:  # a 500 closes the connection
        if where == "proxy-put":
            answer = fresh.put(f"{PROXY}/artifacts/wire/{'n' * 300}", content=b"x")
        else:
            run_id = new_run(fresh, experiment_id)
            query = {"run_id": run_id, "path": "n" * 5000}
            answer = fresh.get(f"{API}/artifacts/list", params=query)
    error(answer, 400, "INVALID_PARAMETER_VALUE")
