"""MLflow 3's logged models. Storing them arrives with the model issue; until then no logged
model can exist, so a search truthfully finds none (mlflow's search_runs asks for them)."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message


def search_logged_models(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    for experiment_id in msg.text_list("experiment_ids"):
        ctx.store.get_experiment(experiment_id)  # unknown experiments are still an error
    return {"models": []}


def routes() -> list[BaseRoute]:
    return [*endpoint("POST", "/logged-models/search", search_logged_models)]
