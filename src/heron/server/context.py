"""What every request handler gets: the settings, the store and the artifact destination.

Built once in the app's lifespan and handed to handlers as an argument, never a global.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from heron.backends.local import LocalBackend
from heron.settings import Settings
from heron.tracking_uri import default_tracking_uri, resolve

PROXY_SCHEME = "mlflow-artifacts:"


@dataclass(frozen=True)
class ServerContext:
    settings: Settings
    store: LocalBackend
    artifacts_destination: str

    @classmethod
    def open(cls, settings: Settings) -> ServerContext:
        location = resolve(settings.backend_store_uri or default_tracking_uri())
        if location.is_remote or location.db_uri is None or location.artifact_root is None:
            raise ValueError("--backend-store-uri must be a database or folder, not a server URL")
        destination = settings.artifacts_destination or location.artifact_root
        if settings.default_artifact_root:
            root = settings.default_artifact_root
        elif settings.serve_artifacts:
            root = PROXY_SCHEME
        else:
            root = location.artifact_root
        store = LocalBackend(location.tracking_uri, location.db_uri, root)
        return cls(settings=settings, store=store, artifacts_destination=destination)

    def resolve_artifact_uri(self, uri: str) -> str:
        """Where a run's artifacts really are: proxy URIs map into the destination folder."""
        if uri.startswith(PROXY_SCHEME):
            relative = uri[len(PROXY_SCHEME) :].lstrip("/")
            return (
                str(Path(self.artifacts_destination) / relative)
                if relative
                else (self.artifacts_destination)
            )
        return uri

    def close(self) -> None:
        self.store.close()
