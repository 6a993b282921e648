"""/api/2.0/mlflow/artifacts/list: a run's artifacts, wherever they are stored."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from heron.artifacts import get_artifact_repository
from heron.server.api.runs import run_id
from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message


def list_artifacts(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    run = ctx.store.get_run(run_id(msg))
    repo = get_artifact_repository(ctx.resolve_artifact_uri(run.info.artifact_uri))
    files = repo.list_artifacts(msg.text("path") or None)
    return {"root_uri": run.info.artifact_uri, "files": [f.to_dict() for f in files]}


def routes() -> list[BaseRoute]:
    return [*endpoint("GET", "/artifacts/list", list_artifacts)]
