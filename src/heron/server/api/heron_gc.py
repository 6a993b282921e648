"""/api/2.0/heron/gc and /api/2.0/heron/experiments/purge: permanent deletion, which MLflow's
API lacks, so that ``heron gc`` and ``heron experiments delete --permanent`` work remotely.

The server's store knows the artifact destination, so ``mlflow-artifacts:`` URIs resolve
here (``ServerContext.resolve_artifact_uri``'s mapping) and their files go with their rows.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from heron.exceptions import invalid
from heron.server.context import ServerContext
from heron.server.routing import endpoint
from heron.server.wire import Message


def gc(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    older_than_ms = msg.integer("older_than_ms", required=True)
    if older_than_ms < 0:
        raise invalid(f"older_than_ms must not be negative, got {older_than_ms}")
    # Absent means every experiment; an empty list is refused by the store, as it is
    # in-process, rather than read as "all" (protobuf's rule) and purging everything.
    ids = None if msg.data.get("experiment_ids") is None else msg.text_list("experiment_ids")
    return ctx.store.gc(older_than_ms, ids, dry_run=msg.flag("dry_run"))


def purge_experiment(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    return ctx.store.purge_experiment(msg.text("experiment_id", required=True))


def routes() -> list[BaseRoute]:
    return [
        *endpoint("POST", "/gc", gc, prefix="heron"),
        *endpoint("POST", "/experiments/purge", purge_experiment, prefix="heron"),
    ]
