"""Metric histories: /metrics/get-history, get-history-bulk, get-history-bulk-interval."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.routing import BaseRoute

from heron.entities import Metric, MetricHistory, metric_value_to_json
from heron.exceptions import invalid
from heron.server.api.runs import run_id
from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message, wire_doubles

MAX_RUNS_PER_BULK_REQUEST = 100
MAX_RESULTS_PER_RUN = 2500
MAX_RESULTS_GET_METRIC_HISTORY = 25000


def get_metric_history(msg: Message, ctx: ServerContext) -> Response:
    page = ctx.store.get_metric_history(
        run_id(msg),
        msg.text("metric_key", required=True),
        max_results=msg.integer("max_results"),
        page_token=msg.text("page_token"),
    )
    answer: dict[str, Any] = {"metrics": [_point(m) for m in page]}
    if page.token:
        answer["next_page_token"] = page.token
    return _json(answer)


def get_metric_history_bulk(msg: Message, ctx: ServerContext) -> Response:
    run_ids = _run_ids(msg, "run_id")
    key = msg.text("metric_key", required=True)
    limit = msg.integer("max_results", default=MAX_RESULTS_GET_METRIC_HISTORY)
    if not 1 <= limit <= MAX_RESULTS_GET_METRIC_HISTORY:
        raise invalid(f"max_results must be between 1 and {MAX_RESULTS_GET_METRIC_HISTORY}")
    points: list[dict[str, Any]] = []
    for history in ctx.store.get_metric_histories(run_ids, [key]):
        points.extend(_points(history, range(min(len(history), limit - len(points)))))
        if len(points) >= limit:
            break
    return _json({"metrics": points})


def get_metric_history_bulk_interval(msg: Message, ctx: ServerContext) -> Response:
    run_ids = _run_ids(msg, "run_ids")
    key = msg.text("metric_key", required=True)
    start, end = msg.integer("start_step"), msg.integer("end_step")
    if (start is None) != (end is None):
        raise invalid("start_step and end_step must be given together")
    if start is not None and end is not None and start > end:
        raise invalid(f"start_step ({start}) must not be greater than end_step ({end})")
    limit = msg.integer("max_results", default=MAX_RESULTS_PER_RUN)
    if not 1 <= limit <= MAX_RESULTS_PER_RUN:
        raise invalid(f"max_results must be between 1 and {MAX_RESULTS_PER_RUN}")
    points: list[dict[str, Any]] = []
    for history in ctx.store.get_metric_histories(run_ids, [key], None, start, end):
        points.extend(_points(history, _evenly_by_step(history.steps, limit)))
    return _json({"metrics": points})


def _run_ids(msg: Message, name: str) -> list[str]:
    run_ids = msg.text_list(name)
    if not run_ids:
        raise invalid(f"Missing value for required parameter '{name}'.")
    if len(run_ids) > MAX_RUNS_PER_BULK_REQUEST:
        raise invalid(
            f"At most {MAX_RUNS_PER_BULK_REQUEST} run ids may be given, got {len(run_ids)}"
        )
    return run_ids


def _evenly_by_step(steps: list[int], limit: int) -> Iterable[int]:
    """Indexes of the points at ``limit`` steps or fewer, spread evenly over the distinct
    steps (which come sorted), always keeping the first and the last."""
    distinct = list(dict.fromkeys(steps))
    if len(distinct) <= limit:
        return range(len(steps))
    if limit == 1:
        chosen = {distinct[0]}
    else:
        stride = (len(distinct) - 1) / (limit - 1)
        chosen = {distinct[round(i * stride)] for i in range(limit)}
    return [i for i, step in enumerate(steps) if step in chosen]


def _point(metric: Metric) -> dict[str, Any]:
    return {
        "key": metric.key,
        "value": metric_value_to_json(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }


def _points(history: MetricHistory, indexes: Iterable[int]) -> list[dict[str, Any]]:
    key, run, steps, times = history.key, history.run_id, history.steps, history.timestamps
    values = wire_doubles(history.values)
    return [
        {"key": key, "value": values[i], "timestamp": times[i], "step": steps[i], "run_id": run}
        for i in indexes
    ]


def _json(answer: dict[str, Any]) -> Response:
    """The answer is built wire-ready above, so it skips the generic writer's walk."""
    return Response(orjson.dumps(answer), media_type="application/json")


def routes() -> list[BaseRoute]:
    return [
        *endpoint("GET", "/metrics/get-history", get_metric_history),
        *endpoint("GET", "/metrics/get-history-bulk", get_metric_history_bulk),
        *endpoint("GET", "/metrics/get-history-bulk-interval", get_metric_history_bulk_interval),
    ]
