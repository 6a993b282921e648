"""/api/2.0/mlflow/experiments/*"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from heron.entities import ViewType
from heron.exceptions import not_found
from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message
from heron.validation import SEARCH_MAX_RESULTS_DEFAULT

VIEW_TYPES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}


def create_experiment(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    tags = {str(t.get("key")): t.get("value", "") for t in msg.objects("tags")}
    name = msg.text("name", required=True)
    experiment_id = ctx.store.create_experiment(name, msg.text("artifact_location") or None, tags)
    return {"experiment_id": experiment_id}


def get_experiment(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    return {
        "experiment": ctx.store.get_experiment(msg.text("experiment_id", required=True)).to_dict()
    }


def get_experiment_by_name(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    name = msg.text("experiment_name", required=True)
    experiment = ctx.store.get_experiment_by_name(name)
    if experiment is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return {"experiment": experiment.to_dict()}


def search_experiments(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    page = ctx.store.search_experiments(
        view_type=msg.enum("view_type", VIEW_TYPES, ViewType.ACTIVE_ONLY),
        max_results=msg.integer("max_results", default=SEARCH_MAX_RESULTS_DEFAULT),
        filter_string=msg.text("filter"),
        order_by=msg.text_list("order_by"),
        page_token=msg.text("page_token"),
    )
    return {"experiments": [e.to_dict() for e in page], "next_page_token": page.token}


def update_experiment(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    experiment_id = msg.text("experiment_id", required=True)
    ctx.store.rename_experiment(experiment_id, msg.text("new_name", required=True))
    return {}


def delete_experiment(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    ctx.store.delete_experiment(msg.text("experiment_id", required=True))
    return {}


def restore_experiment(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    ctx.store.restore_experiment(msg.text("experiment_id", required=True))
    return {}


def set_experiment_tag(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    ctx.store.set_experiment_tag(
        msg.text("experiment_id", required=True),
        msg.text("key", required=True),
        msg.text("value", default=""),
    )
    return {}


def delete_experiment_tag(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    ctx.store.delete_experiment_tag(
        msg.text("experiment_id", required=True), msg.text("key", required=True)
    )
    return {}


def routes() -> list[BaseRoute]:
    return [
        *endpoint("POST", "/experiments/create", create_experiment),
        *endpoint("GET", "/experiments/get", get_experiment),
        *endpoint("GET", "/experiments/get-by-name", get_experiment_by_name),
        *endpoint("POST", "/experiments/search", search_experiments),
        *endpoint("GET", "/experiments/search", search_experiments),
        *endpoint("POST", "/experiments/update", update_experiment),
        *endpoint("POST", "/experiments/delete", delete_experiment),
        *endpoint("POST", "/experiments/restore", restore_experiment),
        *endpoint("POST", "/experiments/set-experiment-tag", set_experiment_tag),
        *endpoint("POST", "/experiments/delete-experiment-tag", delete_experiment_tag),
    ]
