"""Artifacts through a tracking server's artifact proxy (``mlflow-artifacts:/<path>`` URIs).

The server keeps the files; this repository uploads, downloads, lists and deletes them with
the ``/api/2.0/mlflow-artifacts/artifacts`` routes. Files are streamed both ways, never held
in memory whole. It speaks through the HTTP backend's RestClient, so it shares its
connection pool, credentials, timeouts and retries.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from heron.artifacts.local import StrPath, _destination, _join, _plan_upload
from heron.artifacts.paths import safe_relative_path
from heron.entities import FileInfo
from heron.exceptions import RESOURCE_DOES_NOT_EXIST, HeronException, invalid, not_found

if TYPE_CHECKING:
    from heron.backends.rest import RestClient

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
CHUNK_BYTES = 1024 * 1024


class ProxyArtifactRepository:
    """One artifact root on the server, e.g. ``mlflow-artifacts:/1/<run_id>/artifacts``.

    ``mlflow-artifacts://host:port/path`` names another server, reached with the tracking
    URI's scheme and the same credentials, as MLflow does.
    """

    def __init__(self, artifact_uri: str, client: RestClient) -> None:
        self.artifact_uri = artifact_uri
        self._client = client
        parts = urlsplit(artifact_uri)
        if parts.scheme.lower() != "mlflow-artifacts":
            raise invalid(f"{artifact_uri!r} is not an mlflow-artifacts: URI")
        self.root = safe_relative_path(parts.path.strip("/"))
        scheme = urlsplit(client.display_url).scheme or "http"
        self._origin = f"{scheme}://{parts.netloc}" if parts.netloc else ""

    # -- writing --------------------------------------------------------------------------

    def log_artifact(self, local_file: StrPath, artifact_path: str | None = None) -> None:
        source = Path(local_file)
        if not source.is_file():
            raise invalid(f"Cannot log {os.fspath(local_file)!r}: it is not a file")
        self._upload(source, _join(safe_relative_path(artifact_path), source.name))

    def log_artifacts(self, local_dir: StrPath, artifact_path: str | None = None) -> None:
        source = Path(local_dir)
        if not source.is_dir():
            raise invalid(f"Cannot log {os.fspath(local_dir)!r}: it is not a folder")
        _, files = _plan_upload(source, safe_relative_path(artifact_path))
        # Every name is checked before the first upload, so a bad name deep in the tree
        # does not leave half a folder on the server. Empty folders have no files to send;
        # like MLflow's proxy, the server does not keep them.
        planned = [(src, safe_relative_path(rel)) for src, rel in files]
        for src, rel in planned:
            self._upload(src, rel)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise invalid(f"log_bytes needs bytes, got {type(data).__name__}")
        rel = _file_path(artifact_file)
        self._client.send("PUT", self._url(rel), content=bytes(data), headers=_octets())

    def _upload(self, source: Path, rel: str) -> None:
        size = source.stat().st_size

        def chunks() -> Iterator[bytes]:
            with open(source, "rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    yield chunk

        headers = {**_octets(), "Content-Length": str(size)}
        self._client.send("PUT", self._url(_file_path(rel)), content=chunks, headers=headers)

    # -- reading --------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relative_path(path)
        return sorted(
            (
                FileInfo(_join(rel, f.path), f.is_dir, f.file_size)
                for f in self._list_full(self._full(rel))
            ),
            key=lambda info: info.path,
        )

    def download_artifacts(self, artifact_path: str, dst_path: StrPath | None = None) -> str:
        rel = safe_relative_path(artifact_path)
        destination = _destination(dst_path)
        target = destination / rel if rel else destination
        if not rel or self.list_artifacts(rel):
            self._download_tree(rel, target)
            return str(target)
        try:
            self._client.download(self._url(rel), target)
        except HeronException as exc:
            if exc.error_code != RESOURCE_DOES_NOT_EXIST:
                raise
            if not self._is_dir(rel):
                raise not_found(
                    f"No artifact {artifact_path!r} under {self.artifact_uri}"
                ) from None
            target.mkdir(parents=True, exist_ok=True)  # an empty folder
        return str(target)

    def _download_tree(self, rel: str, target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        for info in self.list_artifacts(rel):
            name = info.path.rpartition("/")[2]
            if info.is_dir:
                self._download_tree(info.path, target / name)
            else:
                self._client.download(self._url(info.path), target / name)

    def read_bytes(self, artifact_file: str) -> bytes:
        rel = safe_relative_path(artifact_file)
        if not rel:
            raise not_found(f"No artifact file {artifact_file!r} under {self.artifact_uri}")
        try:
            return self._client.send("GET", self._url(rel)).content
        except HeronException as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                raise not_found(
                    f"No artifact file {artifact_file!r} under {self.artifact_uri}"
                ) from None
            raise

    def exists(self, path: str | None) -> bool:
        return self._entry(safe_relative_path(path)) is not None

    def total_size(self) -> int:
        return self._size("")

    def _size(self, rel: str) -> int:
        return sum(
            self._size(info.path) if info.is_dir else info.file_size or 0
            for info in self.list_artifacts(rel)
        )

    # -- deleting -------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        full = self._full(safe_relative_path(artifact_path))
        if not full:
            raise invalid(
                f"Refusing to delete every artifact the server keeps ({self.artifact_uri!r} "
                "is the proxy's root)"
            )
        self._client.send("DELETE", self._proxy(full))

    # -- addressing -----------------------------------------------------------------------

    def _full(self, rel: str) -> str:
        """A path relative to the repository root, as the proxy names it."""
        if not self.root:
            return rel
        return _join(self.root, rel) if rel else self.root

    def _url(self, rel: str) -> str:
        return self._proxy(self._full(rel))

    def _proxy(self, full: str) -> str:
        return f"{self._origin}{PROXY}/{quote(full, safe='/')}"

    def _list_full(self, full: str) -> list[FileInfo]:
        """Direct children of ``full``, named relative to it (as the proxy answers)."""
        from heron.backends.wire_entities import file_info_from_dict

        params: dict[str, Any] = {"path": full} if full else {}
        answer = self._client.json("GET", f"{self._origin}{PROXY}", params=params)
        return [file_info_from_dict(f) for f in answer.get("files", [])]

    def _entry(self, rel: str) -> FileInfo | None:
        full = self._full(rel)
        if not full:
            return FileInfo("", True)
        parent, _, name = full.rpartition("/")
        return next((f for f in self._list_full(parent) if f.path == name), None)

    def _is_dir(self, rel: str) -> bool:
        entry = self._entry(rel)
        return entry is not None and entry.is_dir


def _file_path(artifact_file: str) -> str:
    rel = safe_relative_path(artifact_file)
    if not rel:
        raise invalid("An artifact file name is required")
    return rel


def _octets() -> dict[str, str]:
    return {"Content-Type": "application/octet-stream"}
