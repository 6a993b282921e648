"""Hostile and careless requests to every POST route: the server answers each with a JSON
error (never a 5xx, never HTML) and stores nothing half-way.

``FIELDS`` lists each POST route's fields; a test fails when a route is added to
``api_routes()`` without an entry here, so new routes get the same treatment.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from heron.server.app import api_routes
from heron.server.routing import routes_table
from servers import running_server

API = "/api/2.0/mlflow"

# Field kinds: "string", "int", "double", "strings" (a list), "objects" (a list), "enum".
# A trailing "*" marks a field the route cannot do without.
FIELDS: dict[str, dict[str, str]] = {
    "/mlflow/experiments/create": {
        "name": "string*",
        "artifact_location": "string",
        "tags": "objects",
    },
    "/mlflow/experiments/search": {
        "max_results": "int",
        "page_token": "string",
        "filter": "string",
        "order_by": "strings",
        "view_type": "enum",
    },
    "/mlflow/experiments/update": {"experiment_id": "string*", "new_name": "string"},
    "/mlflow/experiments/delete": {"experiment_id": "string*"},
    "/mlflow/experiments/restore": {"experiment_id": "string*"},
    "/mlflow/experiments/set-experiment-tag": {
        "experiment_id": "string*",
        "key": "string*",
        "value": "string",
    },
    "/mlflow/experiments/delete-experiment-tag": {"experiment_id": "string*", "key": "string*"},
    "/mlflow/runs/create": {
        "experiment_id": "string",
        "user_id": "string",
        "run_name": "string",
        "start_time": "int",
        "tags": "objects",
    },
    "/mlflow/runs/update": {
        "run_id": "string*",
        "status": "enum",
        "end_time": "int",
        "run_name": "string",
    },
    "/mlflow/runs/delete": {"run_id": "string*"},
    "/mlflow/runs/restore": {"run_id": "string*"},
    "/mlflow/runs/search": {
        "experiment_ids": "strings",
        "filter": "string",
        "run_view_type": "enum",
        "max_results": "int",
        "order_by": "strings",
        "page_token": "string",
    },
    "/mlflow/runs/log-metric": {
        "run_id": "string*",
        "key": "string*",
        "value": "double*",
        "timestamp": "int*",
        "step": "int",
    },
    "/mlflow/runs/log-parameter": {"run_id": "string*", "key": "string*", "value": "string"},
    "/mlflow/runs/set-tag": {"run_id": "string*", "key": "string*", "value": "string"},
    "/mlflow/runs/delete-tag": {"run_id": "string*", "key": "string*"},
    "/mlflow/runs/log-batch": {
        "run_id": "string*",
        "metrics": "objects",
        "params": "objects",
        "tags": "objects",
    },
    "/mlflow/runs/log-inputs": {"run_id": "string*", "datasets": "objects"},
    # Logged models are not stored yet: runs/outputs reads only run_id.
    "/mlflow/runs/outputs": {"run_id": "string*"},
    "/mlflow/logged-models/search": {"experiment_ids": "strings"},
    "/mlflow-artifacts/mpu/create/bad/input.bin": {"path": "string", "num_parts": "int"},
    "/mlflow-artifacts/mpu/complete/bad/input.bin": {
        "path": "string",
        "upload_id": "string",
        "parts": "objects",
    },
    "/mlflow-artifacts/mpu/abort/bad/input.bin": {"path": "string", "upload_id": "string"},
    "/heron/gc": {"older_than_ms": "int*", "experiment_ids": "strings", "dry_run": "flag"},
    "/heron/experiments/purge": {"experiment_id": "string*"},
    "/heron/metrics/log-bulk": {"runs": "objects*"},
    "/heron/metrics/histories": {
        "run_id": "strings*",
        "metric_key": "strings*",
        "max_points": "int",
        "start_step": "int",
        "end_step": "int",
    },
}

# Values of the wrong type for each kind of field.
HUGE = 2**80
WRONG: dict[str, list[Any]] = {
    "string": [12345, 1.5, True, {"a": 1}, [1, "a"], HUGE],
    "int": ["not-a-number", "1.5", 1.5, True, {"a": 1}, [1], HUGE, -HUGE, 2**63, -(2**63) - 1],
    "double": ["not-a-number", True, {"a": 1}, [1.0], "1e999x"],
    "strings": [12345, {"a": 1}, [1, 2], [{"a": 1}], [None]],
    "objects": ["abc", 12345, {"a": 1}, [1, 2], ["a"], [[]]],
    "enum": ["NOT_A_VALUE", 99, -1, 1.5, {"a": 1}, [1]],
    "flag": ["maybe", 2, 1.5, {"a": 1}, [True]],
}


def template(path: str, ids: dict[str, str]) -> dict[str, Any]:
    """A request body the route accepts (given the module's experiment and runs)."""
    run, experiment = ids["run"], ids["experiment"]
    metric = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    bodies: dict[str, dict[str, Any]] = {
        "/mlflow/experiments/create": {
            "name": f"bad-input-{uuid.uuid4().hex}",
            "tags": [{"key": "k", "value": "v"}],
        },
        "/mlflow/experiments/search": {"max_results": 5, "filter": "name LIKE 'bad%'"},
        "/mlflow/experiments/update": {"experiment_id": experiment, "new_name": ids["name"]},
        "/mlflow/experiments/delete": {"experiment_id": ids["spare_experiment"]},
        "/mlflow/experiments/restore": {"experiment_id": ids["spare_experiment"]},
        "/mlflow/experiments/set-experiment-tag": {
            "experiment_id": experiment,
            "key": "k",
            "value": "v",
        },
        "/mlflow/experiments/delete-experiment-tag": {"experiment_id": experiment, "key": "k"},
        "/mlflow/runs/create": {"experiment_id": experiment, "run_name": "r", "start_time": 1},
        "/mlflow/runs/update": {"run_id": run, "status": "RUNNING", "run_name": "r"},
        "/mlflow/runs/delete": {"run_id": ids["spare_run"]},
        "/mlflow/runs/restore": {"run_id": ids["spare_run"]},
        "/mlflow/runs/search": {"experiment_ids": [experiment], "max_results": 5},
        "/mlflow/runs/log-metric": {"run_id": run, **metric},
        "/mlflow/runs/log-parameter": {"run_id": run, "key": "p", "value": "v"},
        "/mlflow/runs/set-tag": {"run_id": run, "key": "t", "value": "v"},
        "/mlflow/runs/delete-tag": {"run_id": run, "key": "t"},
        "/mlflow/runs/log-batch": {
            "run_id": run,
            "metrics": [metric],
            "params": [{"key": "p", "value": "v"}],
            "tags": [{"key": "t", "value": "v"}],
        },
        "/mlflow/runs/log-inputs": {
            "run_id": run,
            "datasets": [
                {
                    "dataset": {
                        "name": "d",
                        "digest": "abc",
                        "source_type": "local",
                        "source": "s",
                    },
                    "tags": [{"key": "k", "value": "v"}],
                }
            ],
        },
        "/mlflow/runs/outputs": {"run_id": run},
        "/mlflow/logged-models/search": {"experiment_ids": [experiment]},
        "/mlflow-artifacts/mpu/create/bad/input.bin": {"path": "bad/input.bin", "num_parts": 2},
        "/mlflow-artifacts/mpu/complete/bad/input.bin": {
            "path": "bad/input.bin",
            "upload_id": "u",
            "parts": [],
        },
        "/mlflow-artifacts/mpu/abort/bad/input.bin": {"path": "bad/input.bin", "upload_id": "u"},
        # A dry run on an active experiment: accepted, and it removes nothing.
        "/heron/gc": {"older_than_ms": 0, "experiment_ids": [experiment], "dry_run": True},
        "/heron/experiments/purge": {"experiment_id": ids["doomed_experiment"]},
        "/heron/metrics/log-bulk": {
            "runs": [{"run_id": run, "metrics": {"key": ["m"], "value": [1.0], "timestamp": [1]}}]
        },
        "/heron/metrics/histories": {"run_id": [run], "metric_key": ["m"], "max_points": 10},
    }
    return bodies[path]


ROUTES = sorted(FIELDS)


def prepare(api: httpx.Client, route: str, ids: dict[str, str]) -> None:
    """Put the state ``template(route)`` needs to succeed back in place."""
    eid, run = {"experiment_id": ids["spare_experiment"]}, {"run_id": ids["spare_run"]}
    steps = {
        "/mlflow/experiments/delete": ("/experiments/restore", eid),
        "/mlflow/experiments/restore": ("/experiments/delete", eid),
        "/mlflow/runs/delete": ("/runs/restore", run),
        "/mlflow/runs/restore": ("/runs/delete", run),
        "/mlflow/runs/delete-tag": ("/runs/set-tag", {"run_id": ids["run"], "key": "t"}),
        "/mlflow/experiments/delete-experiment-tag": (
            "/experiments/set-experiment-tag",
            {"experiment_id": ids["experiment"], "key": "k", "value": "v"},
        ),
    }
    if route in steps:
        path, body = steps[route]
        api.post(f"{API}{path}", json=body)  # may fail when the state is already right
    if route == "/heron/experiments/purge":  # a purge uses up its experiment
        ids["doomed_experiment"] = deleted_experiment(api)


def deleted_experiment(api: httpx.Client) -> str:
    body = {"name": f"bad-input-{uuid.uuid4().hex}"}
    experiment_id: str = api.post(f"{API}/experiments/create", json=body).json()["experiment_id"]
    api.post(f"{API}/experiments/delete", json={"experiment_id": experiment_id})
    return experiment_id


def url_of(route: str, root: str = "api") -> str:
    return f"/{root}/2.0{route}"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def ids(api: httpx.Client) -> dict[str, str]:
    def experiment() -> str:
        body = {"name": f"bad-input-{uuid.uuid4().hex}"}
        eid: str = api.post(f"{API}/experiments/create", json=body).json()["experiment_id"]
        return eid

    def run(experiment_id: str) -> str:
        answer = api.post(f"{API}/runs/create", json={"experiment_id": experiment_id})
        run_id: str = answer.json()["run"]["info"]["run_id"]
        return run_id

    main = experiment()
    name = api.get(f"{API}/experiments/get", params={"experiment_id": main}).json()
    return {
        "experiment": main,
        "name": name["experiment"]["name"],
        "run": run(main),
        "spare_experiment": experiment(),
        "spare_run": run(main),
        "doomed_experiment": deleted_experiment(api),
    }


def post(api: httpx.Client, route: str, **kwargs: Any) -> httpx.Response:
    return api.post(url_of(route), **kwargs)


def assert_json_error(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """A 4xx with MLflow's error body (or the multipart routes' 501); ``status`` pins it."""
    shown = (response.status_code, response.text[:300])
    if response.status_code == 501:
        assert "/mpu/" in response.url.path and response.json()["error_code"] == "NOT_IMPLEMENTED"
    else:
        assert 400 <= response.status_code < 500, shown
    if status is not None:
        assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error_code"), str) and body["error_code"].isupper()
    assert isinstance(body.get("message"), str) and body["message"]
    return body


def assert_handled(response: httpx.Response) -> None:
    """Accepted, or refused with a JSON error; never a server error."""
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code >= 400:
        assert_json_error(response)


# --- the table is complete --------------------------------------------------------------------


def test_every_post_route_is_covered() -> None:
    posts = {path for method, path in routes_table(api_routes()) if method == "POST"}
    covered = set()
    for route in FIELDS:
        concrete = route.removesuffix("/bad/input.bin")
        for root in ("api", "ajax-api"):
            covered.add(f"/{root}/2.0{concrete}")
    posts = {p.replace("/{artifact_path:path}", "") for p in posts}
    assert posts == covered


@pytest.mark.parametrize("route", ROUTES)
def test_the_templates_are_accepted(api: httpx.Client, ids: dict[str, str], route: str) -> None:
    prepare(api, route, ids)
    answer = post(api, route, json=template(route, ids))
    expected = 501 if "/mpu/" in route else 200
    assert answer.status_code == expected, answer.text


# --- bodies that are not a JSON object --------------------------------------------------------

NOT_OBJECTS = [
    b"{bad",
    b'{"name": ',
    b"{'name': 'single quotes'}",
    b'{"name": "x",}',
    b"[1, 2]",
    b"[]",
    b'[{"name": "x"}]',
    b'"just a string"',
    b"12345",
    b"null",
    b"true",
    b"NaN",
    b'{"name": "\xff\xfe"}',
    b"\x00\x01\x02",
]


@pytest.mark.parametrize("route", ROUTES)
def test_bodies_that_are_not_json_objects(api: httpx.Client, route: str) -> None:
    headers = {"content-type": "application/json"}
    for body in NOT_OBJECTS:
        error = assert_json_error(post(api, route, content=body, headers=headers), 400)
        assert error["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE"), body


def test_a_double_encoded_object_is_read_as_mlflow_reads_it(
    api: httpx.Client, ids: dict[str, str]
) -> None:
    body = json.dumps({"run_id": ids["run"], "key": "double", "value": "encoded"})
    assert post(api, "/mlflow/runs/set-tag", json=body).status_code == 200
    run = api.get(f"{API}/runs/get", params={"run_id": ids["run"]}).json()["run"]
    assert {"key": "double", "value": "encoded"} in run["data"]["tags"]


def test_deeply_nested_json_is_a_bad_request(live_server: str) -> None:
    body = b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    with httpx.Client(base_url=live_server) as fresh:  # a 500 closes the connection
        answer = fresh.post(
            url_of("/mlflow/experiments/create"),
            content=body,
            headers={"content-type": "application/json"},
        )
    assert_json_error(answer, 400)


# --- content types ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_content_type_must_be_json(api: httpx.Client, ids: dict[str, str], route: str) -> None:
    prepare(api, route, ids)
    body = json.dumps(template(route, ids)).encode()
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded", "text/html"):
        headers = {"content-type": content_type} if content_type else {}
        answer = post(api, route, content=body, headers=headers)
        error = assert_json_error(answer, 400)
        assert error["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "Content-Type" in error["message"]
    json_utf8 = {"content-type": "application/json; charset=utf-8"}
    answer = post(api, route, content=body, headers=json_utf8)
    assert answer.status_code == (501 if "/mpu/" in route else 200)


# --- fields of the wrong type, unknown and missing fields -------------------------------------


def _kind(spec: str) -> tuple[str, bool]:
    return spec.rstrip("*"), spec.endswith("*")


FIELD_CASES = [
    (route, field) for route in ROUTES if "/mpu/" not in route for field in FIELDS[route]
]


@pytest.mark.parametrize(("route", "field"), FIELD_CASES, ids=lambda v: v.rsplit("/", 1)[-1])
def test_wrong_types_are_invalid_parameter_value(
    api: httpx.Client, ids: dict[str, str], route: str, field: str
) -> None:
    kind, _ = _kind(FIELDS[route][field])
    for value in WRONG[kind]:
        body = {**template(route, ids), field: value}
        answer = post(api, route, json=body)
        error = assert_json_error(answer, 400)
        assert error["error_code"] == "INVALID_PARAMETER_VALUE", (field, value, error)


@pytest.mark.parametrize("route", [r for r in ROUTES if "/mpu/" in r])
def test_multipart_routes_with_wrong_types_are_still_json(
    api: httpx.Client, ids: dict[str, str], route: str
) -> None:
    for field, spec in FIELDS[route].items():
        for value in WRONG[_kind(spec)[0]]:
            assert_json_error(post(api, route, json={**template(route, ids), field: value}))


DATASET = {"name": "d", "digest": "a", "source_type": "local", "source": "s"}

BULK = {"key": ["m"], "value": [1.0], "timestamp": [1]}
NESTED: dict[str, list[tuple[str, Any]]] = {
    "/heron/metrics/log-bulk": [
        ("runs", [{"metrics": BULK}]),
        ("runs", [{"run_id": 5, "metrics": BULK}]),
        ("runs", [{"run_id": "0" * 32, "metrics": "x"}]),
        ("runs", [{"run_id": "0" * 32, "metrics": {**BULK, "value": [1, 2]}}]),
        ("runs", [{"run_id": "0" * 32, "metrics": {**BULK, "value": ["high"]}}]),
        ("runs", [{"run_id": "0" * 32, "metrics": {**BULK, "timestamp": ["noon"]}}]),
        ("runs", [{"run_id": "0" * 32, "metrics": {**BULK, "step": [HUGE]}}]),
    ],
    "/mlflow/runs/log-batch": [
        ("metrics", [{"key": 5, "value": 1, "timestamp": 1}]),
        ("metrics", [{"key": "m", "value": "high", "timestamp": 1}]),
        ("metrics", [{"key": "m", "value": 1, "timestamp": "noon"}]),
        ("metrics", [{"key": "m", "value": 1, "timestamp": 1, "step": HUGE}]),
        ("metrics", [{"key": "m", "value": 1, "timestamp": -1}]),
        ("metrics", [{"key": "m", "value": {"a": 1}, "timestamp": 1}]),
        ("metrics", [{"value": 1, "timestamp": 1}]),
        ("metrics", [{"key": "m", "timestamp": 1}]),
        ("metrics", [{"key": "m", "value": 1}]),
        ("params", [{"key": {"a": 1}, "value": "v"}]),
        ("params", [{"value": "v"}]),
        ("params", [{"key": "p2", "value": {"a": 1}}]),
        ("tags", [{"key": ["t"], "value": "v"}]),
        ("tags", [{"key": "t2", "value": ["v"]}]),
    ],
    "/mlflow/runs/create": [
        ("tags", [{"key": 5, "value": "v"}]),
        ("tags", [{"key": "k", "value": {"a": 1}}]),
        ("tags", "not a list"),
    ],
    "/mlflow/experiments/create": [
        ("tags", [{"key": {"a": 1}, "value": "v"}]),
        ("tags", [{"key": "k", "value": ["v"]}]),
    ],
    "/mlflow/runs/log-inputs": [
        ("datasets", [{"dataset": "d"}]),
        ("datasets", [{"dataset": {**DATASET, "name": 5}}]),
        ("datasets", [{"dataset": {"name": "d"}}]),
        ("datasets", [{"dataset": DATASET, "tags": "x"}]),
    ],
}

# Accepted by MLflow too (its JSON parser turns the key into a string); must not break.
TOLERATED = [
    ("/mlflow/runs/log-inputs", "datasets", [{"dataset": DATASET, "tags": [{"key": {"a": 1}}]}]),
    ("/mlflow/runs/log-inputs", "datasets", [{"dataset": DATASET, "tags": [{"key": 5}]}]),
    ("/mlflow/experiments/create", "tags", [{"key": "k", "value": 5}]),
]


@pytest.mark.parametrize(
    ("route", "field", "value"),
    [
        *[(route, field, value) for route, cases in NESTED.items() for field, value in cases],
        ("/mlflow/runs/create", "tags", [{"key": ["k"], "value": "v"}]),
        ("/mlflow/runs/create", "tags", [{"key": {"a": 1}, "value": "v"}]),
    ],
)
def test_wrong_nested_fields(
    live_server: str, ids: dict[str, str], route: str, field: str, value: Any
) -> None:
    with httpx.Client(base_url=live_server) as fresh:  # a 500 closes the connection
        answer = post(fresh, route, json={**template(route, ids), field: value})
    assert_json_error(answer, 400)


@pytest.mark.parametrize(("route", "field", "value"), TOLERATED)
def test_tolerated_nested_fields(
    api: httpx.Client, ids: dict[str, str], route: str, field: str, value: Any
) -> None:
    assert_handled(post(api, route, json={**template(route, ids), field: value}))


@pytest.mark.parametrize("route", ROUTES)
def test_unknown_fields_are_ignored(api: httpx.Client, ids: dict[str, str], route: str) -> None:
    extra = {"zz_unknown": 1, "nested_unknown": {"a": [1, {"b": None}]}, "": "empty key"}
    prepare(api, route, ids)
    answer = post(api, route, json={**template(route, ids), **extra})
    assert answer.status_code == (501 if "/mpu/" in route else 200), answer.text


REQUIRED = [
    (route, field) for route in ROUTES for field, spec in FIELDS[route].items() if _kind(spec)[1]
]


@pytest.mark.parametrize(("route", "field"), REQUIRED, ids=lambda v: v.rsplit("/", 1)[-1])
def test_missing_required_fields(
    api: httpx.Client, ids: dict[str, str], route: str, field: str
) -> None:
    body = template(route, ids)
    for missing in ({k: v for k, v in body.items() if k != field}, {**body, field: None}):
        error = assert_json_error(post(api, route, json=missing), 400)
        assert error["error_code"] == "INVALID_PARAMETER_VALUE"
        assert field in error["message"]
    if FIELDS[route][field].startswith("string"):
        error = assert_json_error(post(api, route, json={**body, field: ""}), 400)
    if route != "/mlflow/experiments/update":  # see the next test
        assert_json_error(post(api, route, json={}), 400)


@pytest.mark.parametrize(
    "body", [{}, {"experiment_id": "0"}, {"experiment_id": "0", "new_name": ""}]
)
def test_experiment_update_requires_both_fields(api: httpx.Client, body: dict[str, Any]) -> None:
    error = assert_json_error(post(api, "/mlflow/experiments/update", json=body), 400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"


# --- sizes and awkward names -----------------------------------------------------------------


def test_log_batch_over_one_megabyte_is_all_or_nothing(
    api: httpx.Client, ids: dict[str, str]
) -> None:
    run_id = api.post(f"{API}/runs/create", json={"experiment_id": ids["experiment"]})
    run_id = run_id.json()["run"]["info"]["run_id"]
    metrics = [{"key": f"big{i}", "value": i, "timestamp": 1, "step": 0} for i in range(10)]
    padding = [{"key": f"pad{i}", "value": "x" * 7000} for i in range(100)]
    tags = [{"key": f"tag{i}", "value": "y" * 7900} for i in range(100)]
    body = {"run_id": run_id, "metrics": metrics, "params": padding, "tags": tags}
    assert len(json.dumps(body)) > 1_000_000
    answer = post(api, "/mlflow/runs/log-batch", json=body)
    assert_handled(answer)
    data = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    stored = (len(data.get("metrics", [])), len(data.get("params", [])))
    assert stored == ((10, 100) if answer.status_code == 200 else (0, 0))


def test_one_bad_metric_stores_none_of_the_batch(api: httpx.Client, ids: dict[str, str]) -> None:
    run_id = api.post(f"{API}/runs/create", json={"experiment_id": ids["experiment"]})
    run_id = run_id.json()["run"]["info"]["run_id"]
    for bad in (
        {"key": "bad", "value": "zz", "timestamp": 1},
        {"key": "bad key!", "value": 1, "timestamp": 1},
        {"key": "bad", "value": 1, "timestamp": -1},
    ):
        body = {
            "run_id": run_id,
            "metrics": [{"key": "good", "value": 1, "timestamp": 1}, bad],
            "params": [{"key": "p", "value": "v"}],
            "tags": [{"key": "t", "value": "v"}],
        }
        assert_json_error(post(api, "/mlflow/runs/log-batch", json=body), 400)
    history = api.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "good"})
    assert history.json()["metrics"] == []
    data = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    assert data.get("params", []) == []
    assert [t["key"] for t in data["tags"]] == ["mlflow.runName"]


def test_a_param_conflict_stores_none_of_the_batch(api: httpx.Client, ids: dict[str, str]) -> None:
    run_id = api.post(f"{API}/runs/create", json={"experiment_id": ids["experiment"]})
    run_id = run_id.json()["run"]["info"]["run_id"]
    post(api, "/mlflow/runs/log-parameter", json={"run_id": run_id, "key": "p", "value": "1"})
    body = {
        "run_id": run_id,
        "metrics": [{"key": "after", "value": 1, "timestamp": 1}],
        "params": [{"key": "q", "value": "1"}, {"key": "p", "value": "2"}],
    }
    assert_json_error(post(api, "/mlflow/runs/log-batch", json=body), 400)
    data = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    assert data["params"] == [{"key": "p", "value": "1"}]
    assert data.get("metrics", []) == []


NAMES = {
    "huge": "n" * 10_000,
    "html": "<script>alert('x')</script>",
    "emoji": "exp 🚀 ünïcødé 日本語",
    "nul": "a\x00b",
    "control": "tab\tnew\nline\r",
    "rtl": "\u202eevil",
    "astral": "\U0001d518\U0001d52b\U0001f9ea",  # outside the Basic Multilingual Plane
}


@pytest.mark.parametrize("label", sorted(NAMES))
def test_awkward_names(api: httpx.Client, ids: dict[str, str], label: str) -> None:
    name = NAMES[label]
    created = api.post(f"{API}/experiments/create", json={"name": f"{name}-{uuid.uuid4().hex}"})
    assert_handled(created)
    if created.status_code == 200:
        eid = created.json()["experiment_id"]
        got = api.get(f"{API}/experiments/get", params={"experiment_id": eid}).json()
        assert got["experiment"]["name"].startswith(name)
    run = api.post(
        f"{API}/runs/create", json={"experiment_id": ids["experiment"], "run_name": name}
    )
    assert_handled(run)
    if run.status_code == 200:
        assert run.json()["run"]["info"]["run_name"] == name
    for route, body in (
        ("/mlflow/runs/set-tag", {"run_id": ids["run"], "key": name, "value": name}),
        ("/mlflow/runs/log-parameter", {"run_id": ids["run"], "key": name, "value": "v"}),
        (
            "/mlflow/runs/log-metric",
            {"run_id": ids["run"], "key": name, "value": 1, "timestamp": 1},
        ),
        (
            "/mlflow/experiments/set-experiment-tag",
            {"experiment_id": ids["experiment"], "key": "k", "value": name},
        ),
        ("/mlflow/runs/search", {"experiment_ids": [ids["experiment"]], "filter": name}),
        ("/mlflow/runs/search", {"experiment_ids": [ids["experiment"]], "order_by": [name]}),
        ("/mlflow/experiments/search", {"filter": f"name = '{name}'"}),
        ("/mlflow/runs/delete", {"run_id": name}),
        ("/mlflow/experiments/delete", {"experiment_id": name}),
    ):
        assert_handled(post(api, route, json=body))


def test_html_is_stored_verbatim_and_served_as_json(api: httpx.Client, ids: dict[str, str]) -> None:
    script = "<script>alert('x')</script>"
    post(api, "/mlflow/runs/set-tag", json={"run_id": ids["run"], "key": "html", "value": script})
    answer = api.get(f"{API}/runs/get", params={"run_id": ids["run"]})
    assert answer.headers["content-type"].startswith("application/json")
    assert {"key": "html", "value": script} in answer.json()["run"]["data"]["tags"]


BEYOND_INT64 = "9" * 30
HUGE_IDS = [
    ("/mlflow/experiments/update", {"experiment_id": BEYOND_INT64, "new_name": "x"}),
    ("/mlflow/experiments/delete", {"experiment_id": BEYOND_INT64}),
    ("/mlflow/experiments/restore", {"experiment_id": BEYOND_INT64}),
    ("/mlflow/experiments/set-experiment-tag", {"experiment_id": BEYOND_INT64, "key": "k"}),
    ("/mlflow/experiments/delete-experiment-tag", {"experiment_id": BEYOND_INT64, "key": "k"}),
    ("/mlflow/runs/create", {"experiment_id": BEYOND_INT64}),
    ("/mlflow/logged-models/search", {"experiment_ids": [BEYOND_INT64]}),
]


def test_search_in_an_experiment_id_beyond_int64_finds_nothing(live_server: str) -> None:
    body = {"experiment_ids": [BEYOND_INT64]}
    with httpx.Client(base_url=live_server) as fresh:
        answer = fresh.post(url_of("/mlflow/runs/search"), json=body)
    assert answer.status_code == 200 and answer.json().get("runs", []) == []


@pytest.mark.parametrize(("route", "body"), HUGE_IDS, ids=[r for r, _ in HUGE_IDS])
def test_experiment_ids_beyond_int64(live_server: str, route: str, body: dict[str, Any]) -> None:
    with httpx.Client(base_url=live_server) as fresh:  # a 500 closes the connection
        answer = fresh.post(url_of(route), json=body)
    error = assert_json_error(answer)
    assert error["error_code"] in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


HUGE_FILTERS = [
    ("/mlflow/runs/search", f"attributes.start_time > {BEYOND_INT64}"),
    ("/mlflow/runs/search", f"metrics.m > {BEYOND_INT64}"),
    ("/mlflow/experiments/search", f"creation_time > {BEYOND_INT64}"),
]


@pytest.mark.parametrize(("route", "filter_string"), HUGE_FILTERS)
def test_filters_with_integers_beyond_int64(
    live_server: str, ids: dict[str, str], route: str, filter_string: str
) -> None:
    body = {"experiment_ids": [ids["experiment"]], "filter": filter_string}
    with httpx.Client(base_url=live_server) as fresh:
        answer = fresh.post(url_of(route), json=body)
    assert answer.status_code == 200 or assert_json_error(answer, 400)


@pytest.mark.parametrize("route", ["/mlflow/runs/search", "/mlflow/experiments/search"])
def test_deeply_nested_filters(live_server: str, ids: dict[str, str], route: str) -> None:
    nested = "(" * 2000 + "tags.t = 'a'" + ")" * 2000
    body = {"experiment_ids": [ids["experiment"]], "filter": nested}
    with httpx.Client(base_url=live_server) as fresh:
        answer = fresh.post(url_of(route), json=body)
    assert_json_error(answer, 400)


@pytest.mark.parametrize("route", ["/mlflow/runs/search", "/mlflow/experiments/search"])
def test_page_tokens_with_huge_offsets(live_server: str, ids: dict[str, str], route: str) -> None:
    token = base64.b64encode(json.dumps({"offset": 10**30}).encode()).decode()
    body = {"experiment_ids": [ids["experiment"]], "page_token": token}
    with httpx.Client(base_url=live_server) as fresh:
        answer = fresh.post(url_of(route), json=body)
    assert_json_error(answer, 400)


@pytest.mark.parametrize(
    "token", ["", "garbage", "%%%", "eyJ", "W10=", "bnVsbA==", "eyJvZmZzZXQiOiAtMX0="]
)
def test_bad_page_tokens(api: httpx.Client, ids: dict[str, str], token: str) -> None:
    for route in ("/mlflow/runs/search", "/mlflow/experiments/search"):
        body = {"experiment_ids": [ids["experiment"]], "page_token": token}
        assert_handled(post(api, route, json=body))


# --- a server with a small --max-request-bytes ------------------------------------------------


LIMIT = "REQUEST_LIMIT_EXCEEDED"


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    folder: Path = tmp_path_factory.mktemp("small")
    with (
        running_server(folder, "--max-request-bytes", "2000") as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


@pytest.mark.parametrize("route", ROUTES)
def test_bodies_over_max_request_bytes(small_server: httpx.Client, route: str) -> None:
    body = json.dumps({"name": "x" * 3000, "run_id": "r" * 3000}).encode()
    headers = {"content-type": "application/json"}
    # log-batch keeps MLflow's own error for its (tighter) batch size limit.
    status, code = (400, "INVALID_PARAMETER_VALUE") if "log-batch" in route else (413, LIMIT)
    error = assert_json_error(post(small_server, route, content=body, headers=headers), status)
    assert error["error_code"] == code
    assert "2000" in error["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    error = assert_json_error(post(small_server, route, content=chunks(), headers=headers), status)
    assert error["error_code"] == code


def test_bodies_under_max_request_bytes_still_work(small_server: httpx.Client) -> None:
    answer = post(small_server, "/mlflow/experiments/create", json={"name": "small-but-fine"})
    assert answer.status_code == 200
