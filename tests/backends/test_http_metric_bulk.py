"""HttpBackend.log_metrics_bulk and get_metric_histories: Heron's routes, split into
requests and applied once; on a server without them (MLflow), MLflow's routes, found out
once per backend and answering the same."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_http_backend import FAST, in_process_server

from heron.backends import http as http_module
from heron.backends.http import HttpBackend
from heron.backends.local import LocalBackend
from heron.client import HeronClient
from heron.entities import Metric
from heron.exceptions import HeronException
from heron.store.metric_history import downsample
from heron.validation import REQUEST_ID_HEADER


class Recording(httpx.BaseTransport):
    """Forwards to the in-process server, noting each request; ``mlflow`` hides Heron's
    metric routes the way a plain MLflow server answers them (an HTML 404)."""

    def __init__(self, inner: httpx.BaseTransport, mlflow: bool = False) -> None:
        self.inner, self.mlflow = inner, mlflow
        self.seen: list[tuple[str, str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, request.headers.get(REQUEST_ID_HEADER)))
        if self.mlflow and request.url.path.startswith("/api/2.0/heron/"):
            return httpx.Response(404, text="<html>Not Found</html>", request=request)
        return self.inner.handle_request(request)

    def paths(self) -> list[str]:
        return [path.rsplit("/", 1)[-1] for _, path, _ in self.seen]


@pytest.fixture(params=["heron", "mlflow"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[HttpBackend, Recording]]:
    with in_process_server(tmp_path / "server") as inner:
        transport = Recording(inner, mlflow=request.param == "mlflow")
        backend = HttpBackend("http://heron.test", transport=transport, options=FAST)
        yield backend, transport
        backend.close()


def points(n: int, key: str = "loss") -> list[Metric]:
    return [Metric(key, math.sin(i / 100), 1000 + i, i) for i in range(n)]


def test_bulk_round_trip(server: tuple[HttpBackend, Recording]) -> None:
    backend, transport = server
    a, b = (backend.create_run("0").info.run_id for _ in range(2))
    special = [Metric("v", v, 1, i) for i, v in enumerate([math.nan, math.inf, -math.inf, 2.0])]
    assert backend.log_metrics_bulk({a: points(2500) + special, b: points(10, "acc")}) == 2514
    got = backend.get_metric_histories([a, b], ["loss", "v", "acc"])
    assert [(h.run_id, h.key, len(h)) for h in got] == [
        (a, "loss", 2500),
        (a, "v", 4),
        (b, "acc", 10),
    ]
    assert got[0].values == [m.value for m in points(2500)]
    assert math.isnan(got[1].values[0]) and got[1].values[1:] == [math.inf, -math.inf, 2.0]
    if transport.mlflow:  # 1000 metrics per log-batch, after one probe for both routes
        assert transport.paths().count("log-bulk") == 1
        assert transport.paths().count("histories") == 0
        assert transport.paths().count("log-batch") == 4
    else:
        assert transport.paths().count("log-bulk") == 1
        assert "log-batch" not in transport.paths() and "get-history" not in transport.paths()


def test_downsampling_is_the_same_either_way(server: tuple[HttpBackend, Recording]) -> None:
    backend, _ = server
    run_id = backend.create_run("0").info.run_id
    backend.log_metrics_bulk({run_id: points(3000)})
    (whole,) = backend.get_metric_histories([run_id], ["loss"], start_step=100, end_step=2900)
    assert whole.steps[0] == 100 and whole.steps[-1] == 2900
    (small,) = backend.get_metric_histories([run_id], ["loss"], 60, 100, 2900)
    assert small == downsample(whole, 60)
    assert len(small) <= 60
    assert backend.get_metric_histories([uuid.uuid4().hex], ["loss"]) == []


def test_big_calls_are_split_with_derived_ids(
    server: tuple[HttpBackend, Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, transport = server
    monkeypatch.setattr(http_module, "BULK_POINTS_PER_REQUEST", 300)
    monkeypatch.setattr(http_module, "MAX_METRICS_PER_BATCH", 300)
    a, b = (backend.create_run("0").info.run_id for _ in range(2))
    batches = {a: points(700), b: points(200)}
    request_id = str(uuid.uuid4())
    assert backend.log_metrics_bulk(batches, request_id=request_id) == 900
    first = [rid for _, path, rid in transport.seen if path.endswith(("log-bulk", "log-batch"))]
    transport.seen.clear()
    assert backend.log_metrics_bulk(batches, request_id=request_id) == 900  # a replay
    again = [rid for _, path, rid in transport.seen if path.endswith(("log-bulk", "log-batch"))]
    assert again == first[-len(again) :] and len(set(again)) == len(again)
    assert len(again) == (4 if transport.mlflow else 3)  # a: 300+300+100, b: 200 / 300-point parts
    assert [len(h) for h in backend.get_metric_histories([a, b], ["loss"])] == [700, 200]


def test_errors_are_not_mistaken_for_a_missing_route(server: tuple[HttpBackend, Recording]) -> None:
    backend, _ = server
    with pytest.raises(HeronException) as excinfo:
        backend.log_metrics_bulk({uuid.uuid4().hex: points(3)})
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(HeronException) as excinfo:
        backend.get_metric_histories(["bad id"], ["loss"])
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_many_run_ids_go_in_a_body(server: tuple[HttpBackend, Recording]) -> None:
    backend, transport = server
    run_ids = [backend.create_run("0").info.run_id for _ in range(3)] + [
        uuid.uuid4().hex for _ in range(150)
    ]
    backend.log_metrics_bulk({r: points(3) for r in run_ids[:3]})
    got = backend.get_metric_histories(run_ids, ["loss"])
    assert [h.run_id for h in got] == run_ids[:3]
    if not transport.mlflow:
        assert ("POST", "/api/2.0/heron/metrics/histories", None) in transport.seen


def test_client_reads_through_histories(
    server: tuple[HttpBackend, Recording], tmp_path: Path
) -> None:
    backend, transport = server
    client = HeronClient("http://heron.test")
    client._backend = backend
    run_id = client.create_run("0").info.run_id
    assert client.log_metrics_bulk({run_id: points(4000)}) == 4000
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(4000)) and history[0].run_id == run_id
    assert len(client.get_metric_history(run_id, "loss", max_points=100)) <= 100
    (columns,) = client.get_metric_histories([run_id], ["loss"], 10)
    assert columns.steps[0] == 0 and columns.steps[-1] == 3999
    if not transport.mlflow:
        assert "get-history" not in transport.paths()


def test_local_and_http_answer_alike(server: tuple[HttpBackend, Recording], tmp_path: Path) -> None:
    backend, _ = server
    local = LocalBackend("local", f"sqlite:///{tmp_path / 'local.db'}", str(tmp_path / "a"))
    try:
        runs = [(b, b.create_run("0").info.run_id) for b in (local, backend)]
        for b, run_id in runs:
            b.log_metrics_bulk({run_id: [*points(5000), Metric("loss", math.nan, 1, 2500)]})
        (l_h,), (h_h,) = (b.get_metric_histories([r], ["loss"], 200) for b, r in runs)
        assert (l_h.steps, l_h.timestamps) == (h_h.steps, h_h.timestamps)
        assert [v for v in l_h.values if v == v] == [v for v in h_h.values if v == v]
    finally:
        local.close()
