"""The artifact repository interface and the table that picks an implementation by URI."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Protocol, TypeAlias, runtime_checkable

from heron.artifacts.local import LocalArtifactRepository
from heron.entities import FileInfo
from heron.exceptions import invalid

StrPath: TypeAlias = str | os.PathLike[str]


@runtime_checkable
class ArtifactRepository(Protocol):
    """Where one run's (or model's) artifacts live. Paths are posix and relative to the root.

    Every implementation refuses unsafe paths with INVALID_PARAMETER_VALUE, writes each
    file atomically, and lists like MLflow: direct children only, paths relative to the
    root, folders with ``is_dir=True`` and ``file_size=None``.
    """

    artifact_uri: str

    def log_artifact(self, local_file: StrPath, artifact_path: str | None = None) -> None:
        """Copy one local file into the folder ``artifact_path`` (the root when None)."""
        ...

    def log_artifacts(self, local_dir: StrPath, artifact_path: str | None = None) -> None:
        """Copy the contents of a local folder tree into ``artifact_path``."""
        ...

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Store ``data`` as the file ``artifact_file``."""
        ...

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Direct children of the folder ``path``, sorted; [] for a file or a missing path."""
        ...

    def download_artifacts(self, artifact_path: str, dst_path: StrPath | None = None) -> str:
        """Copy a file or folder to ``dst_path`` (default: a new temp folder); the local path."""
        ...

    def read_bytes(self, artifact_file: str) -> bytes:
        """The content of one artifact file; RESOURCE_DOES_NOT_EXIST when absent."""
        ...

    def exists(self, path: str | None) -> bool:
        """Whether a file or folder exists at ``path``."""
        ...

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or folder (everything when None); absent paths are not an error."""
        ...

    def total_size(self) -> int:
        """Total bytes of all artifact files under the root."""
        ...


# URI scheme -> factory. An object-store implementation registers by adding its scheme
# here, behind a function that imports its SDK only when such a URI is used.
_REPOSITORIES: dict[str, Callable[[str], ArtifactRepository]] = {
    "file": LocalArtifactRepository,
}

# A URI scheme as RFC 3986 spells it; one letter is a Windows drive ("C:\\runs"), not a scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def get_artifact_repository(artifact_uri: str) -> ArtifactRepository:
    """The repository for ``artifact_uri``: ``file:`` URIs and plain paths are local."""
    match = _SCHEME.match(artifact_uri)
    scheme = match.group(1).lower() if match else "file"
    factory = _REPOSITORIES.get(scheme)
    if factory is None:
        supported = ", ".join(sorted(_REPOSITORIES))
        raise invalid(
            f"Artifact URI scheme {scheme!r} is not supported yet ({artifact_uri!r}); "
            f"supported schemes: {supported}, or a plain local path"
        )
    return factory(artifact_uri)
