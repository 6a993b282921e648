"""Artifact storage: a repository interface, picked by URI scheme, and its implementations.

``heron.artifacts.formats`` turns Python objects (figures, images, tables) into files; it
is imported on demand because it reaches for optional libraries.
"""

from heron.artifacts.fluent import download_artifacts, list_artifacts, load_dict, load_text
from heron.artifacts.local import LocalArtifactRepository
from heron.artifacts.repository import ArtifactRepository, get_artifact_repository

__all__ = [
    "ArtifactRepository",
    "LocalArtifactRepository",
    "download_artifacts",
    "get_artifact_repository",
    "list_artifacts",
    "load_dict",
    "load_text",
]
