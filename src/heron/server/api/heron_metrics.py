"""/api/2.0/heron/metrics/log-bulk and /metrics/histories: metric points by the million.

MLflow's log-batch takes 1000 metrics per request and get-history pages objects of five
fields each; these routes carry columns (parallel arrays) instead, parsed and written with
orjson, and the histories answer is streamed in chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from heron.entities import MetricHistory
from heron.exceptions import invalid
from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message, parse_double, wire_doubles
from heron.store.metric_rows import MetricColumns

# A million points as JSON columns take about 50 MB.
MAX_BULK_BODY_BYTES = 64 * 1024 * 1024
_ITEMS_PER_CHUNK = 65_536


def loads(body: bytes | str) -> Any:
    """orjson's parser; malformed JSON is the caller's error (400), never a 500."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"Malformed JSON request body: {exc}") from None


def log_bulk(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    batches: dict[str, MetricColumns] = {}
    for i, item in enumerate(_required(msg, "runs", msg.objects)):
        run_id = item.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            raise invalid(f"runs[{i}].run_id must be a run id, got {run_id!r}")
        columns = item.get("metrics")
        if not isinstance(columns, dict):
            raise invalid(f"runs[{i}].metrics must be an object of key/value/timestamp/step arrays")
        points = _points(columns, f"runs[{i}].metrics")
        held = batches.get(run_id)
        batches[run_id] = points if held is None else _joined(held, points)
    stored = ctx.store.log_metrics_bulk(batches, request_id=msg.request_id)
    return {"points": stored}


def _joined(first: MetricColumns, second: MetricColumns) -> MetricColumns:
    """One run named twice in a request: its points, in order."""
    return MetricColumns(
        [*first.keys, *second.keys],
        [*first.values, *second.values],
        [*first.timestamps, *second.timestamps],
        [*first.steps, *second.steps],
    )


def _points(columns: dict[str, Any], where: str) -> MetricColumns:
    values = columns.get("value")
    if not isinstance(values, list):
        raise invalid(f"{where}.value must be an array of numbers")
    n = len(values)
    return MetricColumns(
        keys=_column(columns, "key", n, where, str, required=True),
        values=[v if type(v) is float else parse_double(f"{where}.value", v) for v in values],
        timestamps=_column(columns, "timestamp", n, where, int, required=True),
        steps=_column(columns, "step", n, where, int, required=False),
    )


def _column(
    columns: dict[str, Any], name: str, n: int, where: str, kind: type, required: bool
) -> Sequence[Any]:
    """An array of ``n`` items, or one item given for all of them."""
    value = columns.get(name)
    if value is None:
        if required:
            raise invalid(f"Missing value for required parameter '{where}.{name}'.")
        value = 0
    if isinstance(value, kind) and not isinstance(value, bool):
        return [value] * n
    if not isinstance(value, list):
        raise invalid(f"{where}.{name} must be an array or a single {kind.__name__}")
    if len(value) != n:
        raise invalid(f"{where}.{name} has {len(value)} items but {where}.value has {n}")
    return value


def _required(msg: Message, name: str, read: Callable[[str], list[Any]]) -> list[Any]:
    items = read(name)
    if not items:
        raise invalid(f"Missing value for required parameter '{name}'.")
    return items


def histories(msg: Message, ctx: ServerContext) -> Response:
    found = ctx.store.get_metric_histories(
        _required(msg, "run_id", msg.text_list),
        _required(msg, "metric_key", msg.text_list),
        max_points=msg.integer("max_points"),
        start_step=msg.integer("start_step"),
        end_step=msg.integer("end_step"),
    )
    return StreamingResponse(encode_histories(found), media_type="application/json")


def encode_histories(found: Sequence[MetricHistory]) -> Iterator[bytes]:
    """``{"histories": [...]}`` in pieces, so no answer is one giant string."""
    yield b'{"histories":['
    for i, history in enumerate(found):
        head = {"run_id": history.run_id, "key": history.key}
        yield (b"," if i else b"") + orjson.dumps(head)[:-1]
        for name, column in (
            ("steps", history.steps),
            ("values", wire_doubles(history.values)),
            ("timestamps", history.timestamps),
        ):
            yield f',"{name}":['.encode()
            yield from _array_items(column)
            yield b"]"
        yield b"}"
    yield b"]}"


def _array_items(column: Sequence[Any]) -> Iterable[bytes]:
    for start in range(0, len(column), _ITEMS_PER_CHUNK):
        part = orjson.dumps(column[start : start + _ITEMS_PER_CHUNK])[1:-1]
        yield (b"," + part) if start else part


def routes() -> list[BaseRoute]:
    return [
        *endpoint(
            "POST",
            "/metrics/log-bulk",
            log_bulk,
            prefix="heron",
            body_limit=MAX_BULK_BODY_BYTES,
            loads=loads,
        ),
        *endpoint("GET", "/metrics/histories", histories, prefix="heron"),
        # The same with the fields in a JSON body, for more run ids than a URL holds.
        *endpoint("POST", "/metrics/histories", histories, prefix="heron"),
    ]
