"""The HTTP backend: every Backend call over MLflow's REST API, answered by Heron's server.

Three ways in: the whole wire path in-process (httpx's ASGI transport on the real app, a
fresh store per test), ``httpx.MockTransport`` for what a healthy server never does
(failures, retries, odd answers), and one real server on loopback for the sockets.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest

from heron.artifacts import ArtifactRepository, LocalArtifactRepository
from heron.artifacts.http import ProxyArtifactRepository
from heron.backends import close_all, open_backend
from heron.backends.base import Backend
from heron.backends.http import HttpBackend, HttpOptions
from heron.client import HeronClient
from heron.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType
from heron.exceptions import HeronException
from heron.server.app import create_app
from heron.settings import Settings
from heron.version import VERSION

FAST = HttpOptions(backoff_factor=0.001)


class SyncASGITransport(httpx.BaseTransport):
    """httpx's ASGITransport is async-only; this drives it from a sync client through an
    anyio portal, with the app's lifespan running (it opens the store)."""

    def __init__(self, app: Any, portal: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            answer = await self._asgi.handle_async_request(forwarded)
            content = await answer.aread()
            return httpx.Response(answer.status_code, headers=answer.headers, content=content)

        response: httpx.Response = self._portal.call(send)
        return response


@contextlib.contextmanager
def in_process_server(folder: Path) -> Iterator[SyncASGITransport]:
    app = create_app(Settings(backend_store_uri=str(folder)))
    with contextlib.ExitStack() as stack:
        portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
        stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
        yield SyncASGITransport(app, portal)


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[HttpBackend]:
    with in_process_server(tmp_path / "server") as transport:
        http = HttpBackend("http://heron.test", transport=transport, options=FAST)
        yield http
        http.close()


def mock_backend(
    handler: Callable[[httpx.Request], httpx.Response], options: HttpOptions = FAST
) -> HttpBackend:
    return HttpBackend("http://mock.test", transport=httpx.MockTransport(handler), options=options)


def error_code(call: Callable[[], object]) -> str:
    with pytest.raises(HeronException) as excinfo:
        call()
    return excinfo.value.error_code


# ---- the interface ----------------------------------------------------------------------


def test_implements_every_backend_method() -> None:
    wanted = {name for name, _ in inspect.getmembers(Backend, inspect.isfunction)}
    wanted -= {name for name, _ in inspect.getmembers(object)}
    assert wanted, "Backend has methods"
    for name in wanted:
        ours = inspect.signature(getattr(HttpBackend, name))
        theirs = inspect.signature(getattr(Backend, name))
        assert list(ours.parameters) == list(theirs.parameters), name


def test_open_backend_wires_http_uris() -> None:
    try:
        opened = open_backend("http://127.0.0.1:9")
        assert isinstance(opened, HttpBackend)
        assert open_backend("http://127.0.0.1:9") is opened
    finally:
        close_all()


def test_import_heron_does_not_import_httpx() -> None:
    code = "import sys, heron; print('httpx' in sys.modules, 'heron.backends.http' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---- experiments --------------------------------------------------------------------------


def test_experiments_round_trip(backend: HttpBackend) -> None:
    exp_id = backend.create_experiment("exp", tags={"team": "a", "empty": ""})
    got = backend.get_experiment(exp_id)
    assert (got.experiment_id, got.name, got.lifecycle_stage) == (exp_id, "exp", "active")
    assert got.tags == {"team": "a", "empty": ""}
    assert got.artifact_location == f"mlflow-artifacts:/{exp_id}"
    assert got.creation_time and got.last_update_time
    assert backend.get_experiment_by_name("exp") == got
    assert backend.get_experiment_by_name("nope") is None
    elsewhere = backend.create_experiment("elsewhere", artifact_location="/data/elsewhere")
    assert backend.get_experiment(elsewhere).artifact_location == "/data/elsewhere"

    backend.rename_experiment(exp_id, "renamed")
    backend.set_experiment_tag(exp_id, "team", "b")
    backend.delete_experiment_tag(exp_id, "empty")
    got = backend.get_experiment(exp_id)
    assert (got.name, got.tags) == ("renamed", {"team": "b"})

    backend.delete_experiment(exp_id)
    assert backend.get_experiment(exp_id).lifecycle_stage == "deleted"
    names = [e.name for e in backend.search_experiments()]
    assert sorted(names) == ["Default", "elsewhere"]
    deleted = backend.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.name for e in deleted] == ["renamed"]
    assert len(backend.search_experiments(view_type="ALL")) == 3
    backend.restore_experiment(exp_id)
    found = backend.search_experiments(filter_string="tags.team = 'b'", order_by=["name ASC"])
    assert [e.experiment_id for e in found] == [exp_id]


def test_search_experiments_pages(backend: HttpBackend) -> None:
    for i in range(5):
        backend.create_experiment(f"e{i}")
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = backend.search_experiments(max_results=2, order_by=["name"], page_token=token)
        names += [e.name for e in page]
        pages += 1
        token = page.token
        if not token:
            break
    assert names == ["Default", "e0", "e1", "e2", "e3", "e4"]
    assert pages == 3


def test_purge_over_http_removes_rows_and_proxied_artifacts(backend: HttpBackend) -> None:
    exp_id = backend.create_experiment("gone")
    run_id = backend.create_run(exp_id).info.run_id
    backend.artifact_repository(backend.get_run(run_id).info.artifact_uri).log_bytes(b"abc", "f")
    assert backend.delete_experiment(exp_id) is None  # MLflow's answer does not say
    report = backend.purge_experiment(exp_id)
    assert (report["experiments"], report["runs"], report["artifact_bytes"]) == (1, 1, 3)
    assert report["errors"] == [] and report["skipped"] == []
    assert backend.get_experiment_by_name("gone") is None
    assert backend.create_experiment("gone") != exp_id


def test_purge_over_http_refuses_an_active_experiment(backend: HttpBackend) -> None:
    exp_id = backend.create_experiment("alive")
    assert error_code(lambda: backend.purge_experiment(exp_id)) == "INVALID_PARAMETER_VALUE"
    assert error_code(lambda: backend.purge_experiment("0")) == "INVALID_PARAMETER_VALUE"


def test_gc_on_a_server_without_heron_routes_says_so() -> None:
    def mlflow_server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>Not Found</html>")

    http = HttpBackend("http://mlflow.test", transport=httpx.MockTransport(mlflow_server))
    with pytest.raises(HeronException, match="not a Heron server") as excinfo:
        http.gc(0)
    assert excinfo.value.error_code == "NOT_IMPLEMENTED"


# ---- runs ---------------------------------------------------------------------------------


def test_runs_round_trip(backend: HttpBackend) -> None:
    exp_id = backend.create_experiment("runs")
    run = backend.create_run(
        exp_id, user_id="ada", start_time=1000, tags=[RunTag("k", "v")], run_name="first"
    )
    info = run.info
    assert (info.experiment_id, info.user_id, info.run_name) == (exp_id, "ada", "first")
    assert (info.status, info.start_time, info.end_time) == ("RUNNING", 1000, None)
    assert info.artifact_uri == f"mlflow-artifacts:/{exp_id}/{info.run_id}/artifacts"
    assert run.data.tags == {"k": "v", "mlflow.runName": "first"}
    assert backend.get_run(info.run_id) == run

    updated = backend.update_run_info(info.run_id, status="FINISHED", end_time=2000)
    assert (updated.status, updated.end_time) == ("FINISHED", 2000)
    renamed = backend.update_run_info(info.run_id, status=4, run_name="second")
    assert (renamed.status, renamed.run_name) == ("FAILED", "second")
    assert backend.get_run(info.run_id).data.tags["mlflow.runName"] == "second"

    other = backend.create_run(exp_id, run_name="other")
    backend.delete_run(other.info.run_id)
    assert backend.get_run(other.info.run_id).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in backend.search_runs([exp_id])] == [info.run_id]
    deleted = backend.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [other.info.run_id]
    backend.restore_run(other.info.run_id)
    assert len(backend.search_runs([exp_id], run_view_type="ALL")) == 2
    found = backend.search_runs([exp_id], filter_string="attributes.run_name = 'other'")
    assert [r.info.run_id for r in found] == [other.info.run_id]


def test_search_runs_pages(backend: HttpBackend) -> None:
    exp_id = backend.create_experiment("paged")
    made = [backend.create_run(exp_id, start_time=i).info.run_id for i in range(5)]
    seen: list[str] = []
    token = None
    while True:
        page = backend.search_runs(
            [exp_id], max_results=2, order_by=["attributes.start_time ASC"], page_token=token
        )
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
    assert seen == made


def test_log_batch_with_nan_and_infinities(backend: HttpBackend) -> None:
    run_id = backend.create_run(backend.create_experiment("m")).info.run_id
    values = [0.5, math.nan, math.inf, -math.inf]
    metrics = [Metric("m", v, timestamp=100 + i, step=i) for i, v in enumerate(values)]
    backend.log_batch(
        run_id,
        metrics=[*metrics, Metric("only-nan", math.nan, 5)],
        params=[Param("lr", "0.1")],
        tags=[RunTag("t", "x")],
    )
    data = backend.get_run(run_id).data
    assert data.metrics["m"] == -math.inf  # the highest step wins
    assert math.isnan(data.metrics["only-nan"])
    assert data.params == {"lr": "0.1"}
    assert data.tags["t"] == "x"
    history = backend.get_metric_history(run_id, "m")
    assert [(m.step, m.timestamp, m.run_id) for m in history] == [
        (i, 100 + i, run_id) for i in range(4)
    ]
    assert history[0].value == 0.5 and math.isnan(history[1].value)
    assert [m.value for m in history[2:]] == [math.inf, -math.inf]
    assert history.token is None

    backend.delete_tag(run_id, "t")
    assert "t" not in backend.get_run(run_id).data.tags


def test_metric_history_pages(backend: HttpBackend) -> None:
    run_id = backend.create_run(backend.create_experiment("h")).info.run_id
    backend.log_batch(run_id, metrics=[Metric("loss", 1 / (s + 1), 10, s) for s in range(5)])
    steps: list[int] = []
    token = None
    while True:
        page = backend.get_metric_history(run_id, "loss", max_results=2, page_token=token)
        assert len(page) <= 2
        steps += [m.step for m in page]
        token = page.token
        if not token:
            break
    assert steps == [0, 1, 2, 3, 4]


def test_log_inputs_round_trip(backend: HttpBackend) -> None:
    run_id = backend.create_run(backend.create_experiment("d")).info.run_id
    dataset = Dataset("train", "abc123", "local", '{"uri": "/data"}', schema='{"x": 1}')
    backend.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "t")])])
    (logged,) = backend.get_run(run_id).inputs.dataset_inputs
    assert logged.dataset == dataset
    assert logged.tags == [InputTag("mlflow.data.context", "t")]


def test_error_codes_come_from_the_server(backend: HttpBackend) -> None:
    exp_id = backend.create_experiment("errors")
    run_id = backend.create_run(exp_id).info.run_id
    assert error_code(lambda: backend.get_experiment("98765")) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(lambda: backend.get_run("f" * 32)) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(lambda: backend.create_experiment("errors")) == "RESOURCE_ALREADY_EXISTS"
    assert error_code(lambda: backend.delete_tag(run_id, "absent")) == "RESOURCE_DOES_NOT_EXIST"
    backend.log_batch(run_id, params=[Param("p", "1")])
    changed = [Param("p", "2")]
    assert error_code(lambda: backend.log_batch(run_id, params=changed)) == (
        "INVALID_PARAMETER_VALUE"
    )
    too_many = 50001
    assert error_code(lambda: backend.search_runs([exp_id], max_results=too_many)) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert error_code(lambda: backend.search_experiments(page_token="%%%")) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert error_code(lambda: backend.update_run_info(run_id, status="NAPPING")) == (
        "INVALID_PARAMETER_VALUE"
    )
    with pytest.raises(HeronException, match="98765"):
        backend.get_experiment("98765")


# ---- artifacts through the proxy ------------------------------------------------------------


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_artifacts_through_the_proxy(backend: HttpBackend, tmp_path: Path) -> None:
    run = backend.create_run(backend.create_experiment("art"))
    repo = backend.artifact_repository(run.info.artifact_uri)
    assert isinstance(repo, ProxyArtifactRepository) and isinstance(repo, ArtifactRepository)
    source = tmp_path / "src"
    (source / "sub" / "deeper").mkdir(parents=True)
    (source / "top.txt").write_text("top")
    (source / "sub" / "b.txt").write_text("beta")
    (source / "sub" / "deeper" / "c.txt").write_text("gamma")
    single = tmp_path / "single file.txt"
    single.write_text("one")

    repo.log_artifact(single)
    repo.log_artifact(single, "in/a folder")
    repo.log_artifacts(source, "tree")
    repo.log_bytes(b"\x00\x01", "bin/odd name+#%.bin")

    top = repo.list_artifacts()
    assert [(f.path, f.is_dir, f.file_size) for f in top] == [
        ("bin", True, None),
        ("in", True, None),
        ("single file.txt", False, 3),
        ("tree", True, None),
    ]
    assert [f.path for f in repo.list_artifacts("tree")] == ["tree/sub", "tree/top.txt"]
    assert [f.path for f in repo.list_artifacts("tree/sub")] == [
        "tree/sub/b.txt",
        "tree/sub/deeper",
    ]
    assert repo.list_artifacts("tree/top.txt") == []
    assert repo.list_artifacts("missing") == []
    assert repo.read_bytes("bin/odd name+#%.bin") == b"\x00\x01"
    assert repo.exists("tree/sub/deeper") and repo.exists("in/a folder/single file.txt")
    assert repo.exists(None) and not repo.exists("tree/nope")
    assert repo.total_size() == 3 + 3 + 3 + 4 + 5 + 2

    dst = tmp_path / "dst"
    dst.mkdir()
    one = repo.download_artifacts("tree/sub/b.txt", dst)
    assert one == str(dst / "tree" / "sub" / "b.txt") and Path(one).read_text() == "beta"
    folder = Path(repo.download_artifacts("tree", dst))
    assert _tree(folder) == {"top.txt": "top", "sub/b.txt": "beta", "sub/deeper/c.txt": "gamma"}
    everything = Path(repo.download_artifacts(""))
    assert len(_tree(everything)) == 6
    assert not [p for p in everything.rglob("*") if p.name.startswith(".heron-tmp-")]

    repo.delete_artifacts("tree/sub")
    repo.delete_artifacts("single file.txt")
    repo.delete_artifacts("not/there")
    assert [f.path for f in repo.list_artifacts()] == ["bin", "in", "tree"]
    assert [f.path for f in repo.list_artifacts("tree")] == ["tree/top.txt"]
    repo.delete_artifacts()
    assert repo.list_artifacts() == [] and repo.total_size() == 0


def test_artifact_errors(backend: HttpBackend, tmp_path: Path) -> None:
    run = backend.create_run(backend.create_experiment("bad"))
    repo = backend.artifact_repository(run.info.artifact_uri)
    (tmp_path / "f.txt").write_text("x")
    for bad in ("../escape.txt", "/etc/passwd", "a/../../b", "c:\\x"):
        assert error_code(lambda bad=bad: repo.log_bytes(b"x", bad)) == "INVALID_PARAMETER_VALUE"
        assert error_code(lambda bad=bad: repo.list_artifacts(bad)) == "INVALID_PARAMETER_VALUE"
    assert error_code(lambda: repo.log_artifact(tmp_path / "f.txt", "../up")) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert error_code(lambda: repo.log_artifact(tmp_path)) == "INVALID_PARAMETER_VALUE"
    assert error_code(lambda: repo.read_bytes("absent.txt")) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(lambda: repo.download_artifacts("absent.txt")) == "RESOURCE_DOES_NOT_EXIST"
    missing_dst = tmp_path / "no-such-folder"
    assert error_code(lambda: repo.download_artifacts("", missing_dst)) == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    root = backend.artifact_repository("mlflow-artifacts:/")
    assert error_code(root.delete_artifacts) == "INVALID_PARAMETER_VALUE"


def test_other_artifact_uris_are_reached_directly(tmp_path: Path) -> None:
    backend = HttpBackend("http://mock.test", transport=httpx.MockTransport(_unreachable))
    repo = backend.artifact_repository(str(tmp_path / "shared"))
    assert isinstance(repo, LocalArtifactRepository)
    repo.log_bytes(b"x", "a.txt")
    assert (tmp_path / "shared" / "a.txt").read_bytes() == b"x"


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request expected, got {request.method} {request.url}")


class StreamRecorder(httpx.BaseTransport):
    """Unlike MockTransport, leaves the request body a stream, to count its chunks."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        chunks = list(request.stream)
        size = int(request.headers["content-length"])
        assert sum(len(c) for c in chunks) == size
        self.seen.append((request.method, str(request.url), len(chunks), size))
        return httpx.Response(200, json={})


def test_uploads_are_streamed_and_hosts_honoured(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"z" * (3 * 1024 * 1024 + 5))
    recorder = StreamRecorder()
    backend = HttpBackend("http://mock.test", transport=recorder, options=FAST)
    backend.artifact_repository("mlflow-artifacts:/1/r/artifacts").log_artifact(big, "d")
    backend.artifact_repository("mlflow-artifacts://other.test:5005/x").log_artifact(big)
    (method, url, chunks, size), (_, other_url, _, _) = recorder.seen
    assert method == "PUT" and size == big.stat().st_size and chunks >= 4
    assert url == "http://mock.test/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/d/big.bin"
    assert other_url == "http://other.test:5005/api/2.0/mlflow-artifacts/artifacts/x/big.bin"


# ---- the wire rules -----------------------------------------------------------------------


def test_gets_use_the_query_string_and_others_a_json_body() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"metrics": [], "runs": []})

    backend = mock_backend(handler)
    backend.get_metric_history("r1", "loss", max_results=5)
    backend.search_runs(["1", "2"], filter_string="metrics.x > 1")
    backend.rest.call("GET", "/metrics/get-history-bulk", {"run_id": ["a", "b"], "flag": True})
    get, post, bulk = requests
    assert get.method == "GET" and get.content == b""
    assert dict(get.url.params) == {"run_id": "r1", "metric_key": "loss", "max_results": "5"}
    assert post.method == "POST" and post.headers["content-type"] == "application/json"
    assert json.loads(post.content) == {
        "experiment_ids": ["1", "2"],
        "filter": "metrics.x > 1",
        "run_view_type": "ACTIVE_ONLY",
        "max_results": 1000,
        "order_by": [],
    }
    assert bulk.url.params.get_list("run_id") == ["a", "b"]
    assert bulk.url.params["flag"] == "true"
    assert get.headers["user-agent"] == f"heron/{VERSION}"


def test_odd_answers_become_clear_errors() -> None:
    answers = {
        "/api/2.0/mlflow/runs/get": httpx.Response(200, text="<html>hello</html>"),
        "/api/2.0/mlflow/experiments/get": httpx.Response(404, text="Not Found"),
        "/api/2.0/mlflow/runs/delete": httpx.Response(401, text="who are you"),
    }
    backend = mock_backend(lambda request: answers[request.url.path])
    with pytest.raises(HeronException, match="JSON") as excinfo:
        backend.get_run("x")
    assert excinfo.value.error_code == "INTERNAL_ERROR"
    assert error_code(lambda: backend.get_experiment("1")) == "ENDPOINT_NOT_FOUND"
    assert error_code(lambda: backend.delete_run("x")) == "UNAUTHENTICATED"


# ---- retries ------------------------------------------------------------------------------


def _scripted(*answers: httpx.Response | Exception) -> tuple[HttpBackend, list[httpx.Request]]:
    """A backend whose server gives these answers in turn (the last one from then on)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return mock_backend(handler), seen


def _unavailable(**headers: str) -> httpx.Response:
    body = {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}
    return httpx.Response(503, json=body, headers=headers)


def test_retries_5xx_then_succeeds() -> None:
    ok = httpx.Response(200, json={"experiment_id": "7"})
    backend, seen = _scripted(_unavailable(), _unavailable(), ok)
    assert backend.create_experiment("x") == "7"
    assert len(seen) == 3
    assert all(json.loads(r.content) == {"name": "x", "tags": []} for r in seen)


def test_retries_429_and_connection_errors() -> None:
    ok = httpx.Response(200, json={})
    backend, seen = _scripted(
        httpx.ConnectError("refused"),
        httpx.Response(429, json={"error_code": "RESOURCE_EXHAUSTED", "message": "slow down"}),
        httpx.RemoteProtocolError("dropped"),
        ok,
    )
    backend.delete_run("r")
    assert len(seen) == 4


def test_4xx_is_not_retried() -> None:
    bad = httpx.Response(400, json={"error_code": "INVALID_PARAMETER_VALUE", "message": "no"})
    backend, seen = _scripted(bad, httpx.Response(200, json={}))
    with pytest.raises(HeronException, match="no") as excinfo:
        backend.delete_run("r")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert len(seen) == 1


def test_gives_up_after_max_retries() -> None:
    backend, seen = _scripted(_unavailable())
    with pytest.raises(HeronException, match="busy") as excinfo:
        backend.delete_run("r")
    assert excinfo.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert len(seen) == FAST.max_retries + 1 == 5


def test_not_implemented_is_not_retried() -> None:
    answer = httpx.Response(501, json={"error_code": "NOT_IMPLEMENTED", "message": "later"})
    backend, seen = _scripted(answer)
    assert error_code(lambda: backend.delete_run("r")) == "NOT_IMPLEMENTED"
    assert len(seen) == 1


def test_retry_after_is_honoured() -> None:
    ok = httpx.Response(200, json={})
    backend, seen = _scripted(_unavailable(**{"Retry-After": "0.3"}), ok)
    started = time.monotonic()
    backend.delete_run("r")
    assert time.monotonic() - started >= 0.3
    assert len(seen) == 2


def test_backoff_grows_with_jitter_and_respects_caps() -> None:
    options = HttpOptions(backoff_factor=1.0, backoff_max=3.0, retry_after_max=5.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 3.0), (6, 3.0)]:
        delays = {options.delay(attempt, None) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert options.delay(1, 2.0) == 2.0
    assert options.delay(1, 3600.0) == 5.0
    assert options.delay(1, -4.0) == 0.0


def test_unreachable_server_is_temporarily_unavailable() -> None:
    backend = HttpBackend(
        "http://127.0.0.1:9", options=HttpOptions(max_retries=1, backoff_factor=0)
    )
    with pytest.raises(HeronException, match="Could not reach") as excinfo:
        backend.get_run("r")
    assert excinfo.value.error_code == "TEMPORARILY_UNAVAILABLE"


def test_downloads_retry_and_land_whole(tmp_path: Path) -> None:
    ok = httpx.Response(200, content=b"payload")
    backend, seen = _scripted(httpx.ReadError("cut"), _unavailable(), ok)
    backend.rest.download("/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/f", tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == b"payload"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
    assert len(seen) == 3


# ---- credentials and settings -------------------------------------------------------------


def _authorization(monkeypatch: pytest.MonkeyPatch, **env: str) -> str | None:
    for name in (
        "HERON_TRACKING_TOKEN",
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    headers: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers.get("authorization"))
        return httpx.Response(200, json={})

    mock_backend(handler).delete_run("r")
    return headers[0]


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _authorization(monkeypatch) is None
    assert _authorization(monkeypatch, MLFLOW_TRACKING_TOKEN="t1") == "Bearer t1"
    assert (
        _authorization(monkeypatch, HERON_TRACKING_TOKEN="t2", MLFLOW_TRACKING_TOKEN="t1")
        == "Bearer t2"
    )
    basic = "Basic " + base64.b64encode(b"ada:s3cret").decode()
    assert (
        _authorization(
            monkeypatch, MLFLOW_TRACKING_USERNAME="ada", MLFLOW_TRACKING_PASSWORD="s3cret"
        )
        == basic
    )
    assert (
        _authorization(
            monkeypatch,
            HERON_TRACKING_TOKEN="t3",
            MLFLOW_TRACKING_USERNAME="ada",
            MLFLOW_TRACKING_PASSWORD="s3cret",
        )
        == "Bearer t3"
    )


def test_credentials_never_show(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HERON_TRACKING_TOKEN", "sekrit-token")
    caplog.set_level("DEBUG")
    backend, _ = _scripted(_unavailable())
    with pytest.raises(HeronException) as excinfo:
        backend.delete_run("r")
    assert "sekrit" not in caplog.text and "sekrit" not in str(excinfo.value)
    assert "sekrit" not in repr(backend)
    assert "attempt 2 of 5" in caplog.text


def test_timeouts_and_retries_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    default = HttpOptions.from_env({})
    assert (default.connect_timeout, default.read_timeout, default.max_retries) == (10, 120, 4)
    tuned = HttpOptions.from_env({"HERON_HTTP_TIMEOUT": "5", "HERON_HTTP_MAX_RETRIES": "0"})
    assert (tuned.connect_timeout, tuned.read_timeout, tuned.max_retries) == (5, 5, 0)
    assert HttpOptions.from_env({"MLFLOW_HTTP_REQUEST_TIMEOUT": "300"}).read_timeout == 300
    for bad in ({"HERON_HTTP_TIMEOUT": "soon"}, {"HERON_HTTP_TIMEOUT": "0"}):
        assert error_code(lambda bad=bad: HttpOptions.from_env(bad)) == "INVALID_PARAMETER_VALUE"
    assert error_code(lambda: HttpOptions.from_env({"HERON_HTTP_MAX_RETRIES": "-1"})) == (
        "INVALID_PARAMETER_VALUE"
    )

    monkeypatch.setenv("HERON_HTTP_TIMEOUT", "7.5")
    monkeypatch.setenv("HERON_HTTP_MAX_RETRIES", "1")
    monkeypatch.setenv("HERON_HTTP_BACKOFF_FACTOR", "0")
    timeouts: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return _unavailable()

    backend = HttpBackend("http://mock.test", transport=httpx.MockTransport(handler))
    assert error_code(lambda: backend.delete_run("r")) == "TEMPORARILY_UNAVAILABLE"
    assert len(timeouts) == 2  # one retry, as configured
    assert timeouts[0] == {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}


def test_read_timeout_is_reported_not_retried() -> None:
    backend, seen = _scripted(httpx.ReadTimeout("slow"))
    with pytest.raises(HeronException, match="HERON_HTTP_TIMEOUT") as excinfo:
        backend.get_run("r")
    assert excinfo.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert len(seen) == 1


# ---- a real server on loopback ----------------------------------------------------------------


def test_live_server_round_trip(live_server: str, tmp_path: Path) -> None:
    """Sockets, uvicorn and streaming for real: a client on the server's URL."""
    client = HeronClient(live_server)
    assert isinstance(client.backend, HttpBackend)
    exp_id = client.create_experiment("live")
    run_id = client.create_run(exp_id, run_name="live-run").info.run_id
    client.log_batch(run_id, metrics=[Metric("m", math.inf, 1, 0)], params=[Param("p", "v")])
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 12289)  # a little over 3 MiB: several chunks
    client.log_artifact(run_id, big, "data/nested")
    client.set_terminated(run_id)

    run = client.get_run(run_id)
    assert (run.info.status, run.data.metrics, run.data.params) == (
        "FINISHED",
        {"m": math.inf},
        {"p": "v"},
    )
    (listed,) = client.list_artifacts(run_id, "data/nested")
    assert (listed.path, listed.file_size) == ("data/nested/big.bin", big.stat().st_size)
    local = Path(client.download_artifacts(run_id, "data", str(tmp_path)))
    assert (local / "nested" / "big.bin").read_bytes() == big.read_bytes()
    with pytest.raises(HeronException) as excinfo:
        client.get_experiment("424242")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
