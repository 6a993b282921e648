"""The HTTP backend: the client's calls as MLflow REST requests to a tracking server.

The only modules that import httpx (this one and ``rest``, which holds the wire rules,
retries and auth) are imported only when a tracking URI is ``http(s)://``, so
``import heron`` stays light. ``runs/create`` and ``runs/log-batch`` are sent with a
request id the server applies once. Metric bulk writes and history reads use Heron's
``/api/2.0/heron/metrics/`` routes, and MLflow's routes on a plain MLflow server.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import orjson

from heron.artifacts import ArtifactRepository, get_artifact_repository
from heron.backends.rest import (
    API,
    HERON_API,
    PROXY_SCHEME,
    HttpOptions,
    RestClient,
    credentials_from_env,
    json_answer,
    query_params,
)
from heron.backends.wire_entities import (
    experiment_from_dict,
    history_from_dict,
    metric_from_dict,
    paged,
    run_from_dict,
    run_info_from_dict,
)
from heron.entities import (
    DatasetInput,
    Experiment,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
    metric_value_to_json,
)
from heron.exceptions import (
    RESOURCE_DOES_NOT_EXIST,
    HeronException,
    invalid,
)
from heron.store.metric_history import downsample, validate_history_request
from heron.validation import MAX_METRICS_PER_BATCH, REQUEST_ID_HEADER, SEARCH_MAX_RESULTS_DEFAULT

BULK_POINTS_PER_REQUEST = 100_000
MAX_HISTORY_PAGE = 25_000  # MLflow's largest get-history page
HISTORY_IDS_IN_URL = 100  # run ids and keys beyond this go in a POST body


class HttpBackend:
    """The Backend protocol over a tracking server's REST API."""

    def __init__(
        self,
        tracking_uri: str,
        transport: httpx.BaseTransport | None = None,
        options: HttpOptions | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.rest = RestClient(tracking_uri, transport, options)
        # Whether the server has Heron's metrics routes: None until the first call finds out.
        self._bulk_routes: bool | None = None

    def __repr__(self) -> str:
        return f"HttpBackend({self.rest.display_url!r})"

    def close(self) -> None:
        self.rest.close()

    # ---- experiments -------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        answer = self.rest.call(
            "POST",
            "/experiments/create",
            {
                "name": name,
                "artifact_location": artifact_location or None,
                "tags": _key_values(tags or {}),
            },
        )
        return str(answer["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        answer = self.rest.call("GET", "/experiments/get", {"experiment_id": experiment_id})
        return experiment_from_dict(answer["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            answer = self.rest.call("GET", "/experiments/get-by-name", {"experiment_name": name})
        except HeronException as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                return None
            raise
        return experiment_from_dict(answer["experiment"])

    def search_experiments(
        self,
        view_type: int | str = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        answer = self.rest.call(
            "POST",
            "/experiments/search",
            {
                "view_type": _view_type(view_type),
                "max_results": max_results,
                "filter": filter_string or None,
                "order_by": list(order_by or []),
                "page_token": page_token or None,
            },
        )
        return paged([experiment_from_dict(e) for e in answer.get("experiments", [])], answer)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        fields = {"experiment_id": experiment_id, "new_name": new_name}
        self.rest.call("POST", "/experiments/update", fields)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        fields = {"experiment_id": experiment_id, "key": key, "value": value}
        self.rest.call("POST", "/experiments/set-experiment-tag", fields)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        fields = {"experiment_id": experiment_id, "key": key}
        self.rest.call("POST", "/experiments/delete-experiment-tag", fields)

    def delete_experiment(self, experiment_id: str) -> int | None:
        """None: MLflow's answer is an empty object, so the number of runs is not known here."""
        self.rest.call("POST", "/experiments/delete", {"experiment_id": experiment_id})
        return None

    def restore_experiment(self, experiment_id: str) -> None:
        self.rest.call("POST", "/experiments/restore", {"experiment_id": experiment_id})

    def purge_experiment(self, experiment_id: str) -> dict[str, Any]:
        return self._heron("/experiments/purge", {"experiment_id": experiment_id})

    # ---- garbage collection (Heron's extension; MLflow's API has none) -------------------

    def gc(
        self,
        older_than_ms: int,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """The server collects in one request; ``progress`` is not called (nothing streams)."""
        fields = {
            "older_than_ms": older_than_ms,
            "experiment_ids": None if experiment_ids is None else [str(e) for e in experiment_ids],
            "dry_run": dry_run,
        }
        return self._heron("/gc", fields)

    def _heron(self, endpoint: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A POST to Heron's own routes, /api/2.0/heron/..., which an MLflow server lacks."""
        present = {k: v for k, v in fields.items() if v is not None}
        body = json.dumps(present, separators=(",", ":")).encode()
        url = f"{HERON_API}{endpoint}"
        try:
            response = self.rest.send(
                "POST", url, content=body, headers={"Content-Type": "application/json"}
            )
        except HeronException as exc:
            if exc.error_code != "ENDPOINT_NOT_FOUND":
                raise
            raise HeronException(
                f"{self.rest.display_url} does not answer {url}: it is not a Heron server (or "
                "is an older one), and MLflow's API has no call that deletes permanently.",
                "NOT_IMPLEMENTED",
            ) from exc
        return json_answer(response)

    # ---- runs --------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
        *,
        request_id: str | None = None,
    ) -> Run:
        answer = self.rest.call(
            "POST",
            "/runs/create",
            {
                "experiment_id": experiment_id,
                "user_id": user_id,
                "start_time": start_time,
                "tags": [t.to_dict() for t in tags],
                "run_name": run_name or None,
            },
            idempotent=True,
            request_id=request_id,
        )
        return run_from_dict(answer["run"])

    def get_run(self, run_id: str) -> Run:
        return run_from_dict(self.rest.call("GET", "/runs/get", {"run_id": run_id})["run"])

    def update_run_info(
        self,
        run_id: str,
        status: str | int | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        answer = self.rest.call(
            "POST",
            "/runs/update",
            {
                "run_id": run_id,
                "run_uuid": run_id,
                "status": None if status is None else _run_status(status),
                "end_time": end_time,
                "run_name": run_name or None,
            },
        )
        return run_info_from_dict(answer["run_info"])

    def delete_run(self, run_id: str) -> None:
        self.rest.call("POST", "/runs/delete", {"run_id": run_id})

    def restore_run(self, run_id: str) -> None:
        self.rest.call("POST", "/runs/restore", {"run_id": run_id})

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int | str = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        fields = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string or None,
            "run_view_type": _view_type(run_view_type),
            "max_results": max_results,
            "order_by": list(order_by or []),
            "page_token": page_token or None,
        }
        present = {k: v for k, v in fields.items() if v is not None}
        body = json.dumps(present, separators=(",", ":"), allow_nan=False).encode()
        headers = {"Content-Type": "application/json"}
        # A page of 1,000 runs is about 2 MB of JSON: orjson reads it several times faster.
        response = self.rest.send("POST", f"{API}/runs/search", content=body, headers=headers)
        answer = _orjson_answer(response)
        return paged([run_from_dict(r) for r in answer.get("runs") or []], answer)

    # ---- what runs log -------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        *,
        request_id: str | None = None,
    ) -> None:
        fields = {
            "run_id": run_id,
            "metrics": [_metric(m) for m in metrics],
            "params": [p.to_dict() for p in params],
            "tags": [t.to_dict() for t in tags],
        }
        self.rest.call("POST", "/runs/log-batch", fields, idempotent=True, request_id=request_id)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.rest.call("POST", "/runs/delete-tag", {"run_id": run_id, "key": key})

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        fields = {"run_id": run_id, "datasets": [d.to_dict() for d in datasets]}
        self.rest.call("POST", "/runs/log-inputs", fields)

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        answer = self.rest.call(
            "GET",
            "/metrics/get-history",
            {
                "run_id": run_id,
                "metric_key": metric_key,
                "max_results": max_results,
                "page_token": page_token or None,
            },
        )
        metrics = [metric_from_dict(m, run_id=run_id) for m in answer.get("metrics", [])]
        return paged(metrics, answer)

    # ---- metrics by the million (Heron's routes; MLflow's, more slowly, elsewhere) -----

    def log_metrics_bulk(
        self, batches: Mapping[str, Sequence[Metric]], *, request_id: str | None = None
    ) -> int:
        """Requests of at most BULK_POINTS_PER_REQUEST points, each applied once (its id is
        derived from ``request_id``, so sending the same batches again stores nothing new).
        An MLflow server gets log-batch requests of 1000 metrics instead."""
        parts = _bulk_parts(batches, BULK_POINTS_PER_REQUEST)
        stored, start = 0, 0
        if self._bulk_routes is not False:
            try:
                for start, part in enumerate(parts):
                    body = orjson.dumps({"runs": [_columns(r, m) for r, m in part]})
                    answer = self._heron_post(
                        "/metrics/log-bulk", body, _part_id(request_id, start)
                    )
                    stored += int(answer.get("points", 0))
                self._bulk_routes = True
                return stored
            except HeronException as exc:
                if not (self._bulk_routes is None and start == 0 and _no_route(exc)):
                    raise
                self._bulk_routes = False
        for i, part in enumerate(_bulk_parts(batches, MAX_METRICS_PER_BATCH, one_run=True)):
            run_id, metrics = part[0]
            self.log_batch(run_id, metrics, request_id=_part_id(request_id, i, "batch"))
            stored += len(metrics)
        return stored

    def get_metric_histories(
        self,
        run_ids: Sequence[str],
        metric_keys: Sequence[str],
        max_points: int | None = None,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[MetricHistory]:
        """From Heron's histories route; from MLflow's get-history pages (downsampled
        here, the way a Heron server does) when the server has no such route."""
        runs, keys = validate_history_request(
            run_ids, metric_keys, max_points, start_step, end_step
        )
        if self._bulk_routes is not False:
            fields = {
                "run_id": runs,
                "metric_key": keys,
                "max_points": max_points,
                "start_step": start_step,
                "end_step": end_step,
            }
            try:
                answer = self._histories(fields)
            except HeronException as exc:
                if not (self._bulk_routes is None and _no_route(exc)):
                    raise
                self._bulk_routes = False
            else:
                self._bulk_routes = True
                return [history_from_dict(h) for h in answer.get("histories") or []]
        found = (self._paged_history(r, k, start_step, end_step) for r in runs for k in keys)
        return [downsample(h, max_points) for h in found if len(h)]

    def _histories(self, fields: dict[str, Any]) -> dict[str, Any]:
        url = f"{HERON_API}/metrics/histories"
        present = {k: v for k, v in fields.items() if v is not None}
        if len(fields["run_id"]) + len(fields["metric_key"]) <= HISTORY_IDS_IN_URL:
            response = self.rest.send("GET", url, params=query_params(present))
        else:  # more than a URL holds
            body = orjson.dumps(present)
            headers = {"Content-Type": "application/json"}
            response = self.rest.send("POST", url, content=body, headers=headers)
        return _orjson_answer(response)

    def _heron_post(self, endpoint: str, body: bytes, request_id: str | None) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/json",
            REQUEST_ID_HEADER: request_id or str(uuid.uuid4()),
        }
        response = self.rest.send("POST", f"{HERON_API}{endpoint}", content=body, headers=headers)
        return _orjson_answer(response)

    def _paged_history(
        self, run_id: str, key: str, start_step: int | None, end_step: int | None
    ) -> MetricHistory:
        points: list[Metric] = []
        token = None
        while True:
            page = self.get_metric_history(run_id, key, MAX_HISTORY_PAGE, token)
            points.extend(page)
            token = page.token
            if not token:
                break
        lo = -(2**63) if start_step is None else start_step
        hi = 2**63 if end_step is None else end_step
        points = sorted(
            (m for m in points if lo <= m.step <= hi), key=lambda m: (m.step, m.timestamp)
        )
        return MetricHistory(
            run_id,
            key,
            [m.step for m in points],
            [m.value for m in points],
            [m.timestamp for m in points],
        )

    # ---- artifacts -----------------------------------------------------------------------

    def artifact_repository(self, artifact_uri: str) -> ArtifactRepository:
        """Through the server's proxy for ``mlflow-artifacts:`` URIs; anything else (a shared
        folder, when the server does not serve artifacts) is reached directly."""
        if artifact_uri.startswith(PROXY_SCHEME):
            from heron.artifacts.http import ProxyArtifactRepository

            return ProxyArtifactRepository(artifact_uri, self.rest)
        return get_artifact_repository(artifact_uri)


def _bulk_parts(
    batches: Mapping[str, Sequence[Metric]], size: int, one_run: bool = False
) -> list[list[tuple[str, Sequence[Metric]]]]:
    """The batches cut into requests of at most ``size`` points (of one run each if asked)."""
    parts: list[list[tuple[str, Sequence[Metric]]]] = []
    current: list[tuple[str, Sequence[Metric]]] = []
    room = size
    for run_id, metrics in batches.items():
        start = 0
        while start < len(metrics):
            if one_run and current:
                parts.append(current)
                current, room = [], size
            piece = metrics[start : start + room]
            current.append((run_id, piece))
            start += len(piece)
            room -= len(piece)
            if room == 0:
                parts.append(current)
                current, room = [], size
    if current:
        parts.append(current)
    return parts


def _part_id(request_id: str | None, index: int, kind: str = "bulk") -> str | None:
    """The id of one request of a split call: the same for the same call, always valid."""
    if request_id is None:
        return None
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"heron:{kind}:{request_id}:{index}"))


def _columns(run_id: str, metrics: Sequence[Metric]) -> dict[str, Any]:
    values = [m.value for m in metrics]
    return {
        "run_id": run_id,
        "metrics": {
            "key": [m.key for m in metrics],
            "value": [v if -math.inf < v < math.inf else metric_value_to_json(v) for v in values],
            "timestamp": [m.timestamp for m in metrics],
            "step": [m.step for m in metrics],
        },
    }


def _no_route(exc: HeronException) -> bool:
    """A plain MLflow server's answer to Heron's routes."""
    return exc.error_code == "ENDPOINT_NOT_FOUND"


def _orjson_answer(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        return json_answer(response)  # says what is wrong, as for every other call
    return answer


def _key_values(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def _metric(metric: Metric) -> dict[str, Any]:
    """The wire form without run_id: the batch names its run once."""
    out = metric.to_dict()
    out.pop("run_id", None)
    return out


def _view_type(value: int | str) -> str:
    try:
        return ViewType.to_string(ViewType.coerce(value))
    except ValueError as exc:
        raise invalid(str(exc)) from None


def _run_status(value: int | str) -> str:
    try:
        return RunStatus.to_string(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


__all__ = ["HttpBackend", "HttpOptions", "RestClient", "credentials_from_env"]
