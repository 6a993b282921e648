"""What runs log: /runs/log-metric, log-parameter, set-tag, delete-tag, log-batch, log-inputs."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from heron.entities import Dataset, DatasetInput, InputTag, Metric
from heron.exceptions import BAD_REQUEST, HeronException, invalid
from heron.server.api.runs import param_of, run_id, run_params, run_tags, tag_of
from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message, json_loads, parse_double
from heron.store.metric_rows import MetricColumns

# MLflow documents a 1 MB log-batch limit but its check measures only the JSON's keys, so
# its clients send larger legal batches (100 long params and tags make about 1.4 MB). The
# entity limits bound a legal batch; this bound only keeps out absurd bodies.
MAX_BATCH_LOG_REQUEST_SIZE = 16_000_000


def metric_from(fields: dict[str, Any]) -> Metric:
    item = Message(fields, from_query=False)
    return Metric(
        key=item.text("key", required=True),
        value=parse_double("value", item.data.get("value")) if "value" in fields else _no_value(),
        timestamp=item.integer("timestamp", required=True),
        step=item.integer("step", default=0),
    )


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def metric_columns(items: list[dict[str, Any]]) -> MetricColumns:
    """log-batch's metrics as columns, in one pass over the JSON objects.

    The usual item (a non-empty string key, a number, int64 timestamp and step) is taken as
    it is; any other goes through ``metric_from``, which converts it or raises its error.
    """
    keys: list[str] = []
    values: list[float] = []
    timestamps: list[int] = []
    steps: list[int] = []
    for item in items:
        key = item.get("key")
        value: Any = item.get("value")
        timestamp = item.get("timestamp")
        step = item.get("step", 0)
        kind = type(value)
        if (
            type(key) is str
            and key
            and (kind is float or kind is int)
            and type(timestamp) is int
            and _INT64_MIN <= timestamp <= _INT64_MAX
            and (step is None or (type(step) is int and _INT64_MIN <= step <= _INT64_MAX))
        ):
            keys.append(key)
            values.append(value if kind is float else float(value))
            timestamps.append(timestamp)
            steps.append(0 if step is None else step)
        else:
            metric = metric_from(item)
            keys.append(metric.key)
            values.append(metric.value)
            timestamps.append(metric.timestamp)
            steps.append(metric.step)
    return MetricColumns(keys, values, timestamps, steps)


def _no_value() -> float:
    raise invalid("Missing value for required parameter 'value'.")


def log_metric(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    ctx.store.log_batch(run_id(msg), metrics=[metric_from(msg.data)], request_id=msg.request_id)
    return {}


def log_param(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    param = param_of(msg.text("key", required=True), msg.text("value", default=""))
    ctx.store.log_batch(run_id(msg), params=[param], request_id=msg.request_id)
    return {}


def set_tag(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    tag = tag_of(msg.text("key", required=True), msg.text("value", default=""))
    ctx.store.log_batch(run_id(msg), tags=[tag], request_id=msg.request_id)
    return {}


def delete_tag(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    ctx.store.delete_tag(msg.text("run_id", required=True), msg.text("key", required=True))
    return {}


def log_batch(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    try:
        ctx.store.log_batch_columns(
            run_id(msg),
            metric_columns(msg.objects("metrics")),
            params=run_params(msg),
            tags=run_tags(msg),
            request_id=msg.request_id,
        )
    except RecursionError:
        # orjson reads deeper nesting than json, whose refusal this is (showing such a value
        # in an error message is what recurses too deeply).
        raise HeronException("The JSON request body is nested too deeply.", BAD_REQUEST) from None
    return {}


def _batch_too_large(limit: int) -> HeronException:
    return invalid(f"Batched logging API requests must be at most {limit} bytes in size.")


def log_inputs(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    datasets = []
    for item in msg.objects("datasets"):
        fields = item.get("dataset")
        if not isinstance(fields, dict):
            raise invalid("Each entry of 'datasets' needs a 'dataset' object")
        ds = Message(fields, from_query=False)
        dataset = Dataset(
            name=ds.text("name", required=True),
            digest=ds.text("digest", required=True),
            source_type=ds.text("source_type", required=True),
            source=ds.text("source", required=True),
            schema=ds.text("schema"),
            profile=ds.text("profile"),
        )
        tags = [InputTag(str(t.get("key")), str(t.get("value", ""))) for t in _tag_list(item)]
        datasets.append(DatasetInput(dataset=dataset, tags=tags))
    ctx.store.log_inputs(msg.text("run_id", required=True), datasets)
    return {}


def _tag_list(item: dict[str, Any]) -> list[dict[str, Any]]:
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, dict) for t in tags):
        raise invalid("Dataset input 'tags' must be a list of {key, value} objects")
    return tags


def log_outputs(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    """Logged-model outputs arrive with the model issue; accept and check the run exists."""
    ctx.store.get_run(msg.text("run_id", required=True))
    return {}


def routes() -> list[BaseRoute]:
    return [
        *endpoint("POST", "/runs/log-metric", log_metric),
        *endpoint("POST", "/runs/log-parameter", log_param),
        *endpoint("POST", "/runs/set-tag", set_tag),
        *endpoint("POST", "/runs/delete-tag", delete_tag),
        *endpoint(
            "POST",
            "/runs/log-batch",
            log_batch,
            body_limit=MAX_BATCH_LOG_REQUEST_SIZE,
            too_large=_batch_too_large,
            loads=json_loads,
        ),
        *endpoint("POST", "/runs/log-inputs", log_inputs),
        *endpoint("POST", "/runs/outputs", log_outputs),
    ]
