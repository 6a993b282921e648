"""One run's logged values as requests within the store's limits.

MLflow's log-batch takes at most 1000 entities (100 params, 100 tags). A larger batch is
sent as one log-batch with the params, the tags and the first metrics, then the rest of
the metrics through the backend's bulk path (one request per 100,000 points on a Heron
server; log-batch requests of 1000 elsewhere). Each request carries its own request id,
derived from the batch's, so resending a batch after a failure stores each part once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from heron.entities import Metric, Param, RunTag
from heron.validation import (
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
)


def part_id(request_id: str | None, index: int) -> str | None:
    """The request id of a batch's ``index``-th request (the first keeps the batch's id)."""
    if request_id is None or index == 0:
        return request_id
    return f"{request_id}.{index}"


def send_batch(
    backend: Any,
    run_id: str,
    metrics: Sequence[Metric] = (),
    params: Sequence[Param] = (),
    tags: Sequence[RunTag] = (),
    request_id: str | None = None,
    done: Callable[[], None] | None = None,
) -> None:
    """Store a batch of any size, as few requests as the limits allow, in order.

    ``done()`` is called after each request the store accepted.
    """

    def sent() -> None:
        if done is not None:
            done()

    if len(metrics) + len(params) + len(tags) <= MAX_ENTITIES_PER_BATCH and (
        len(params) <= MAX_PARAMS_TAGS_PER_BATCH and len(tags) <= MAX_PARAMS_TAGS_PER_BATCH
    ):
        backend.log_batch(run_id, metrics, params, tags, request_id=request_id)
        sent()
        return
    index = 0
    while params or tags:
        p, params = params[:MAX_PARAMS_TAGS_PER_BATCH], params[MAX_PARAMS_TAGS_PER_BATCH:]
        t, tags = tags[:MAX_PARAMS_TAGS_PER_BATCH], tags[MAX_PARAMS_TAGS_PER_BATCH:]
        head = MAX_ENTITIES_PER_BATCH - len(p) - len(t)
        backend.log_batch(run_id, metrics[:head], p, t, request_id=part_id(request_id, index))
        sent()
        metrics, index = metrics[head:], index + 1
    if not metrics:
        return
    bulk = getattr(backend, "log_metrics_bulk", None)
    if bulk is not None:
        bulk({run_id: list(metrics)}, request_id=part_id(request_id, index))
        sent()
        return
    for start in range(0, len(metrics), MAX_METRICS_PER_BATCH):
        chunk = metrics[start : start + MAX_METRICS_PER_BATCH]
        backend.log_batch(run_id, chunk, (), (), request_id=part_id(request_id, index))
        sent()
        index += 1
