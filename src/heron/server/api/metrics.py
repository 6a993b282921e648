"""Metric histories: /metrics/get-history, get-history-bulk, get-history-bulk-interval."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from heron.entities import Metric
from heron.exceptions import invalid
from heron.server.api.runs import run_id
from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message

MAX_RUNS_PER_BULK_REQUEST = 100
MAX_RESULTS_PER_RUN = 2500
MAX_RESULTS_GET_METRIC_HISTORY = 25000


def get_metric_history(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    page = ctx.store.get_metric_history(
        run_id(msg),
        msg.text("metric_key", required=True),
        max_results=msg.integer("max_results"),
        page_token=msg.text("page_token"),
    )
    return {"metrics": [_point(m, with_run=False) for m in page], "next_page_token": page.token}


def get_metric_history_bulk(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    run_ids = _run_ids(msg, "run_id")
    key = msg.text("metric_key", required=True)
    limit = msg.integer("max_results", default=MAX_RESULTS_GET_METRIC_HISTORY)
    if not 1 <= limit <= MAX_RESULTS_GET_METRIC_HISTORY:
        raise invalid(f"max_results must be between 1 and {MAX_RESULTS_GET_METRIC_HISTORY}")
    points: list[dict[str, Any]] = []
    for rid in run_ids:
        points.extend(_point(m) for m in ctx.store.get_metric_history(rid, key))
    return {"metrics": points[:limit]}


def get_metric_history_bulk_interval(msg: Message, ctx: ServerContext) -> dict[str, Any]:
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
    for rid in run_ids:
        history = [
            m
            for m in ctx.store.get_metric_history(rid, key)
            if start is None or start <= m.step <= end
        ]
        points.extend(_point(m) for m in _evenly_by_step(history, limit))
    return {"metrics": points}


def _run_ids(msg: Message, name: str) -> list[str]:
    run_ids = msg.text_list(name)
    if not run_ids:
        raise invalid(f"Missing value for required parameter '{name}'.")
    if len(run_ids) > MAX_RUNS_PER_BULK_REQUEST:
        raise invalid(
            f"At most {MAX_RUNS_PER_BULK_REQUEST} run ids may be given, got {len(run_ids)}"
        )
    return run_ids


def _evenly_by_step(history: list[Metric], limit: int) -> list[Metric]:
    """At most ``limit`` points spread evenly over the steps, always keeping first and last."""
    steps = sorted({m.step for m in history})
    if len(steps) <= limit:
        return history
    if limit == 1:
        chosen = {steps[0]}
    else:
        stride = (len(steps) - 1) / (limit - 1)
        chosen = {steps[round(i * stride)] for i in range(limit)}
    return [m for m in history if m.step in chosen]


def _point(metric: Metric, with_run: bool = True) -> dict[str, Any]:
    point = metric.to_dict()
    if not with_run:
        point.pop("run_id", None)
    return point


def routes() -> list[BaseRoute]:
    return [
        *endpoint("GET", "/metrics/get-history", get_metric_history),
        *endpoint("GET", "/metrics/get-history-bulk", get_metric_history_bulk),
        *endpoint("GET", "/metrics/get-history-bulk-interval", get_metric_history_bulk_interval),
    ]
