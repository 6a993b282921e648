"""/api/2.0/mlflow/runs/* : create, get, update, delete, restore, search."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response
from starlette.routing import BaseRoute

from heron.entities import Param, RunTag, ViewType
from heron.server.api.experiments import VIEW_TYPES
from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message
from heron.validation import (
    MAX_PARAM_VAL_LENGTH,
    MAX_TAG_VAL_LENGTH,
    SEARCH_MAX_RESULTS_DEFAULT,
    truncate_long_value,
)

log = logging.getLogger("heron.server")

RUN_STATUSES = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
_STATUS_NAMES = {number: name for name, number in RUN_STATUSES.items()}


def run_id(msg: Message) -> str:
    """MLflow accepts ``run_id`` or its old name ``run_uuid``."""
    value = msg.text("run_id") or msg.text("run_uuid")
    if not value:
        msg.text("run_id", required=True)
    return str(value)


def key_values(msg: Message, name: str) -> list[tuple[Any, Any]]:
    return [(item.get("key"), item.get("value", "")) for item in msg.objects(name)]


def tag_of(key: Any, value: Any) -> RunTag:
    return RunTag(key, _cut(key, value, MAX_TAG_VAL_LENGTH, "tag"))


def param_of(key: Any, value: Any) -> Param:
    return Param(key, _cut(key, value, MAX_PARAM_VAL_LENGTH, "param"))


def run_tags(msg: Message) -> list[RunTag]:
    return [tag_of(k, v) for k, v in key_values(msg, "tags")]


def run_params(msg: Message) -> list[Param]:
    return [param_of(k, v) for k, v in key_values(msg, "params")]


def _cut(key: Any, value: Any, limit: int, kind: str) -> Any:
    """MLflow's server truncates long values by default; so does Heron's (and logs it)."""
    return truncate_long_value(str(key), value, limit, kind, log.warning)


def create_run(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    run = ctx.store.create_run(
        experiment_id=msg.text("experiment_id") or "0",
        user_id=msg.text("user_id", default=""),
        start_time=msg.integer("start_time"),
        tags=run_tags(msg),
        run_name=msg.text("run_name") or None,
        request_id=msg.request_id,
    )
    return {"run": run.to_dict()}


def get_run(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    return {"run": ctx.store.get_run(run_id(msg)).to_dict()}


def update_run(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    status = msg.enum("status", RUN_STATUSES, 0)
    info = ctx.store.update_run_info(
        run_id(msg),
        status=_STATUS_NAMES.get(status),
        end_time=msg.integer("end_time"),
        run_name=msg.text("run_name") or None,
    )
    return {"run_info": info.to_dict()}


def delete_run(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    ctx.store.delete_run(msg.text("run_id", required=True))
    return {}


def restore_run(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    ctx.store.restore_run(msg.text("run_id", required=True))
    return {}


def search_runs(msg: Message, ctx: ServerContext) -> dict[str, Any] | Response:
    page = ctx.store.search_run_dicts(
        experiment_ids=msg.text_list("experiment_ids"),
        filter_string=msg.text("filter"),
        run_view_type=msg.enum("run_view_type", VIEW_TYPES, ViewType.ACTIVE_ONLY),
        max_results=msg.integer("max_results", default=SEARCH_MAX_RESULTS_DEFAULT),
        order_by=msg.text_list("order_by"),
        page_token=msg.text("page_token"),
    )
    # The runs come in their JSON-safe wire form, so they skip json_response's walk over
    # every value; the bytes are the same (a missing token is left out, as there).
    payload: dict[str, Any] = {"runs": list(page)}
    if page.token is not None:
        payload["next_page_token"] = page.token
    try:
        body = orjson.dumps(payload)
    except TypeError:  # what orjson refuses (integers past 64 bits): the generic writer
        return payload
    return Response(body, media_type="application/json")


def routes() -> list[BaseRoute]:
    return [
        *endpoint("POST", "/runs/create", create_run),
        *endpoint("GET", "/runs/get", get_run),
        *endpoint("POST", "/runs/update", update_run),
        *endpoint("POST", "/runs/delete", delete_run),
        *endpoint("POST", "/runs/restore", restore_run),
        *endpoint("POST", "/runs/search", search_runs),
    ]
