"""X-Heron-Request-Id over a real server: a write whose answer is lost is retried and
stored once. The transport in front of the client forwards each request to the server for
real, then (when told to) throws the answer away and raises what a client sees when an
answer never arrives."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from heron.backends.http import HttpBackend, HttpOptions
from heron.client import HeronClient
from heron.entities import Metric, Param
from heron.exceptions import HeronException
from heron.validation import REQUEST_ID_HEADER

FAST = HttpOptions(backoff_factor=0.001)
POINTS = [Metric("loss", 1.0 / (step + 1), 1000 + step, step) for step in range(10)]


class AnswerLost(httpx.BaseTransport):
    """Delivers every request; loses the answer to the first ``losses`` requests to ``path``."""

    def __init__(self, path: str, losses: int, error: type[httpx.TransportError]) -> None:
        self._inner = httpx.HTTPTransport()
        self._path, self._losses, self._error = path, losses, error
        self.ids: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if not request.url.path.endswith(self._path):
            return response
        response.read()  # the server has answered, so it has committed
        self.ids.append(request.headers.get(REQUEST_ID_HEADER))
        if self._losses > 0:
            self._losses -= 1
            response.close()
            raise self._error("the answer was lost", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


@pytest.fixture
def run_id(live_server: str) -> str:
    client = HeronClient(live_server)
    experiment_id = client.create_experiment(f"ids-{uuid.uuid4().hex[:8]}")
    return client.create_run(experiment_id).info.run_id


@pytest.fixture
def heron(live_server: str) -> Iterator[HeronClient]:
    yield HeronClient(live_server)


def losing(
    url: str,
    path: str,
    losses: int,
    error: type[httpx.TransportError],
    options: HttpOptions = FAST,
) -> tuple[HttpBackend, AnswerLost]:
    transport = AnswerLost(path, losses, error)
    return HttpBackend(url, transport=transport, options=options), transport


def history(client: HeronClient, run_id: str) -> list[int]:
    return [m.step for m in client.get_metric_history(run_id, "loss")]


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ReadError])
def test_a_batch_whose_answer_is_lost_is_stored_once(
    live_server: str, heron: HeronClient, run_id: str, error: type[httpx.TransportError]
) -> None:
    backend, transport = losing(live_server, "/runs/log-batch", 2, error)
    backend.log_batch(run_id, POINTS, [Param("lr", "0.1")])
    sent = transport.ids
    assert len(sent) == 3 and len(set(sent)) == 1 and sent[0]  # one id, three attempts
    assert history(heron, run_id) == list(range(10))
    backend.log_batch(run_id, POINTS)  # the next call is a new request, with a new id
    assert len(set(sent)) == 2 and len(history(heron, run_id)) == 20


def test_a_create_run_whose_answer_is_lost_creates_one_run(
    live_server: str, heron: HeronClient
) -> None:
    experiment_id = heron.create_experiment(f"ids-{uuid.uuid4().hex[:8]}")
    backend, _ = losing(live_server, "/runs/create", 1, httpx.ReadTimeout)
    run = backend.create_run(experiment_id, run_name="once")
    assert [r.info.run_id for r in heron.search_runs([experiment_id])] == [run.info.run_id]


def test_a_read_timeout_without_an_id_is_not_retried(live_server: str, run_id: str) -> None:
    backend, transport = losing(live_server, "/runs/delete", 1, httpx.ReadTimeout)
    with pytest.raises(HeronException, match="HERON_HTTP_TIMEOUT"):
        backend.delete_run(run_id)
    assert transport.ids == [None]  # sent once, with no id


def test_retries_run_out(live_server: str, run_id: str) -> None:
    options = HttpOptions(max_retries=2, backoff_factor=0.001)
    backend, transport = losing(live_server, "/runs/log-batch", 10, httpx.ReadTimeout, options)
    with pytest.raises(HeronException) as excinfo:
        backend.log_batch(run_id, POINTS)
    assert excinfo.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert len(transport.ids) == 3


def _post(url: str, path: str, body: dict[str, object], request_id: str | None) -> int:
    headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
    answer = httpx.post(f"{url}/api/2.0/mlflow{path}", json=body, headers=headers)
    return answer.status_code


def test_every_write_endpoint_honours_the_header(
    live_server: str, heron: HeronClient, run_id: str
) -> None:
    metric = {"run_id": run_id, "key": "loss", "value": 1.0, "timestamp": 1, "step": 7}
    for path, body in (
        ("/runs/log-metric", metric),
        ("/runs/log-batch", {"run_id": run_id, "metrics": [{**metric, "step": 8}]}),
        ("/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v"}),
        ("/runs/set-tag", {"run_id": run_id, "key": "t", "value": "v"}),
    ):
        request_id = str(uuid.uuid4())
        assert [_post(live_server, path, body, request_id) for _ in range(2)] == [200, 200]
    assert history(heron, run_id) == [7, 8]


def test_without_the_header_nothing_changes(
    live_server: str, heron: HeronClient, run_id: str
) -> None:
    """MLflow's client sends no id: two identical requests store two points, as in MLflow."""
    metric = {"run_id": run_id, "key": "loss", "value": 1.0, "timestamp": 1, "step": 0}
    assert [_post(live_server, "/runs/log-metric", metric, None) for _ in range(2)] == [200, 200]
    assert history(heron, run_id) == [0, 0]


def test_the_same_id_at_once_over_http_is_stored_once(
    live_server: str, heron: HeronClient, run_id: str
) -> None:
    body = {"run_id": run_id, "metrics": [m.to_dict() for m in POINTS]}
    request_id = str(uuid.uuid4())
    statuses: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: statuses.append(_post(live_server, "/runs/log-batch", body, request_id))
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 6
    assert history(heron, run_id) == list(range(10))


def test_a_malformed_id_is_a_bad_request(live_server: str, run_id: str) -> None:
    body = {"run_id": run_id, "key": "loss", "value": 1.0, "timestamp": 1}
    answer = httpx.post(
        f"{live_server}/api/2.0/mlflow/runs/log-metric",
        json=body,
        headers={REQUEST_ID_HEADER: "x" * 100},
    )
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
