"""``create_app(settings)``: routes, error handling and the lifespan that opens the store."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from heron.server.api import (
    artifact_proxy,
    artifacts,
    experiments,
    heron_gc,
    heron_metrics,
    logged_models,
    metrics,
    run_data,
    runs,
)
from heron.server.context import ServerContext
from heron.settings import Settings
from heron.version import VERSION

log = logging.getLogger("heron.server")


def api_routes() -> list[BaseRoute]:
    return [
        *experiments.routes(),
        *runs.routes(),
        *run_data.routes(),
        *metrics.routes(),
        *artifacts.routes(),
        *artifact_proxy.routes(),
        *logged_models.routes(),
        *heron_gc.routes(),
        *heron_metrics.routes(),
    ]


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def version(request: Request) -> Response:
    return PlainTextResponse(VERSION)


async def server_info(request: Request) -> Response:
    return JSONResponse({"store_type": "SqlStore", "workspaces_enabled": False})


def meta_routes() -> list[BaseRoute]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/api/3.0/mlflow/server-info", server_info, methods=["GET"]),
        Route("/ajax-api/3.0/mlflow/server-info", server_info, methods=["GET"]),
    ]


async def not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    if status == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
        return JSONResponse({"error_code": "ENDPOINT_NOT_FOUND", "message": message}, 405)
    message = f"No API endpoint at {request.method} {request.url.path}"
    return JSONResponse({"error_code": "ENDPOINT_NOT_FOUND", "message": message}, 404)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"error_code": "INTERNAL_ERROR", "message": "The server hit an unexpected error."}, 500
    )


def create_app(settings: Settings) -> Starlette:
    """The whole server; the store opens in the lifespan and closes with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        context = ServerContext.open(settings)
        app.state.heron = context
        try:
            yield
        finally:
            context.close()

    handlers: dict[Any, Any] = {
        404: not_found,
        405: not_found,
        HTTPException: not_found,
        Exception: internal_error,
    }
    return Starlette(
        routes=[*meta_routes(), *api_routes()],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
