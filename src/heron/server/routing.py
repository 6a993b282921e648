"""Routes in MLflow's shape: each endpoint under /api/<v>/<prefix> and its /ajax-api twin."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from heron.exceptions import TEMPORARILY_UNAVAILABLE, HeronException
from heron.server.context import ServerContext
from heron.server.wire import Message, bad_path, error_response, json_response, read_message
from heron.validation import REQUEST_ID_HEADER

# A handler reads a Message and returns the response fields (or a ready Response, for
# answers too large to pass through the generic JSON writer); it runs in a worker thread
# because the store is synchronous.
MessageHandler = Callable[[Message, ServerContext], dict[str, Any] | Response]


def server_context(request: Request) -> ServerContext:
    context: ServerContext = request.app.state.heron
    return context


def endpoint(
    method: str,
    path: str,
    handler: MessageHandler,
    version: str = "2.0",
    prefix: str = "mlflow",
    body_limit: int | None = None,
    too_large: Callable[[int], HeronException] | None = None,
    loads: Callable[[bytes | str], Any] | None = None,
) -> list[BaseRoute]:
    """Both twins of one endpoint; ``body_limit`` tightens the server-wide body limit and
    ``loads`` replaces the JSON parser of the body."""

    async def call(request: Request) -> Response:
        context = server_context(request)
        limit = min(
            body_limit or context.settings.max_request_bytes, context.settings.max_request_bytes
        )
        try:
            message = await read_message(request, limit, too_large, loads or json.loads)
            message.request_id = request.headers.get(REQUEST_ID_HEADER)
            payload = await run_in_threadpool(handler, message, context)
        except HeronException as exc:
            return error_response(exc)
        except OSError as exc:
            return error_response(bad_path(exc))
        except PoolTimeout:
            return error_response(_pool_exhausted(context))
        return payload if isinstance(payload, Response) else json_response(payload)

    call.__name__ = handler.__name__
    return [
        Route(f"/{root}/{version}/{prefix}{path}", call, methods=[method], name=None)
        for root in ("api", "ajax-api")
    ]


def _pool_exhausted(context: ServerContext) -> HeronException:
    """Every pooled connection stayed busy for --db-pool-timeout: a 503 the client retries."""
    return HeronException(
        "The server's database connections are all busy "
        f"(waited {context.settings.db_pool_timeout} s); try again.",
        TEMPORARILY_UNAVAILABLE,
    )


def routes_table(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path) of every route, for docs/api.md and its test."""
    table = []
    for route in routes:
        if isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    table.append((method, route.path))
    return table
