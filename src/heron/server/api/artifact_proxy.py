"""The artifact proxy, /api/2.0/mlflow-artifacts/*: clients upload, download, list and delete
artifacts through the server, which keeps them under --artifacts-destination."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from heron.artifacts import get_artifact_repository
from heron.artifacts.paths import safe_relative_path
from heron.exceptions import HeronException, invalid, not_found
from heron.server.context import ServerContext
from heron.server.routing import endpoint, server_context
from heron.server.wire import Message, bad_path, error_response, json_response

PREFIX = "/api/2.0/mlflow-artifacts"


def _file_path(request: Request) -> str:
    """The artifact a request names; the destination's root itself is never one."""
    path = safe_relative_path(request.path_params["artifact_path"])
    if not path:
        raise invalid("Name an artifact: the artifact root cannot be read, written or deleted")
    return path


def _repo(ctx: ServerContext) -> Any:
    if not ctx.settings.serve_artifacts:
        raise HeronException(
            "This server does not serve artifacts (started with --no-serve-artifacts).",
            "TEMPORARILY_UNAVAILABLE",
        )
    return get_artifact_repository(ctx.artifacts_destination)


async def download(request: Request) -> Response:
    ctx = server_context(request)
    try:
        path = _file_path(request)
        repo = _repo(ctx)
        local = repo.root / path
        if not await run_in_threadpool(repo.exists, path) or local.is_dir():
            raise not_found(f"No artifact at '{path}'")
    except HeronException as exc:
        return error_response(exc)
    except OSError as exc:
        return error_response(bad_path(exc))
    return FileResponse(local, media_type="application/octet-stream")


async def upload(request: Request) -> Response:
    ctx = server_context(request)
    try:
        path = _file_path(request)
        repo = _repo(ctx)
        folder, _, name = path.rpartition("/")
        with tempfile.TemporaryDirectory(prefix="heron-upload-") as tmp:
            staged = Path(tmp) / name
            with open(staged, "wb") as handle:
                async for chunk in request.stream():
                    await run_in_threadpool(handle.write, chunk)
            await run_in_threadpool(repo.log_artifact, staged, folder or None)
    except HeronException as exc:
        return error_response(exc)
    except OSError as exc:
        return error_response(bad_path(exc))
    return json_response({})


async def delete(request: Request) -> Response:
    ctx = server_context(request)
    try:
        path = _file_path(request)
        await run_in_threadpool(_repo(ctx).delete_artifacts, path)
    except HeronException as exc:
        return error_response(exc)
    except OSError as exc:
        return error_response(bad_path(exc))
    return json_response({})


def list_proxied(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    path = msg.text("path") or None
    files = _repo(ctx).list_artifacts(path)
    # Paths are relative to the listed folder, as MLflow's proxy answers them.
    prefix = f"{safe_relative_path(path)}/" if path else ""
    return {
        "files": [
            {**f.to_dict(), "path": f.path[len(prefix) :] if f.path.startswith(prefix) else f.path}
            for f in files
        ]
    }


def multipart_unsupported(msg: Message, ctx: ServerContext) -> dict[str, Any]:
    _repo(ctx)
    raise HeronException(
        "Multipart upload is not supported by a local artifact destination; upload the file "
        "with one PUT (it is streamed, so size is no problem).",
        "NOT_IMPLEMENTED",
    )


def routes() -> list[BaseRoute]:
    artifact = f"{PREFIX}/artifacts/{{artifact_path:path}}"
    routes: list[BaseRoute] = [
        Route(artifact, download, methods=["GET"]),
        Route(artifact, upload, methods=["PUT"]),
        Route(artifact, delete, methods=["DELETE"]),
    ]
    routes += endpoint("GET", "/artifacts", list_proxied, prefix="mlflow-artifacts")
    for action in ("create", "complete", "abort"):
        routes += endpoint(
            "POST",
            f"/mpu/{action}/{{artifact_path:path}}",
            multipart_unsupported,
            prefix="mlflow-artifacts",
        )
    return routes


__all__ = ["routes"]
