"""``heron.artifacts.download_artifacts`` and friends, as in ``mlflow.artifacts``."""

from __future__ import annotations

import json
from typing import Any

from heron.exceptions import invalid


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Download a run's artifact (``run_id`` + ``artifact_path``), or anything by URI
    (``runs:/<run_id>/<path>`` or a local artifact location); returns the local path."""
    if artifact_uri is not None:
        if run_id is not None or artifact_path is not None:
            raise invalid("Give artifact_uri, or run_id with artifact_path, not both")
        if artifact_uri.startswith("runs:/"):
            run_id, _, artifact_path = artifact_uri[len("runs:/") :].partition("/")
        else:
            # The backend knows every scheme it can reach, mlflow-artifacts: included.
            repo = _client(tracking_uri).backend.artifact_repository(artifact_uri)
            return str(repo.download_artifacts("", dst_path))
    if not run_id:
        raise invalid("Give artifact_uri, or run_id (with an optional artifact_path)")
    return _client(tracking_uri).download_artifacts(run_id, artifact_path or "", dst_path)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[Any]:
    if artifact_uri is not None and artifact_uri.startswith("runs:/"):
        run_id, _, artifact_path = artifact_uri[len("runs:/") :].partition("/")
    elif artifact_uri is not None:
        repo = _client(tracking_uri).backend.artifact_repository(artifact_uri)
        return list(repo.list_artifacts(artifact_path))
    if not run_id:
        raise invalid("Give artifact_uri or run_id")
    return _client(tracking_uri).list_artifacts(run_id, artifact_path)


def load_text(artifact_uri: str) -> str:
    with open(download_artifacts(artifact_uri), encoding="utf-8") as handle:
        return handle.read()


def load_dict(artifact_uri: str) -> dict[str, Any]:
    path = download_artifacts(artifact_uri)
    with open(path, encoding="utf-8") as handle:
        if path.endswith((".yaml", ".yml")):
            import yaml

            return dict(yaml.safe_load(handle))
        return dict(json.load(handle))


def _client(tracking_uri: str | None) -> Any:
    from heron.client import HeronClient
    from heron.fluent import get_tracking_uri

    return HeronClient(tracking_uri or get_tracking_uri())
