"""What every request handler gets: the settings, the store and the artifact destination.

Built once in the app's lifespan and handed to handlers as an argument, never a global.
"""

from __future__ import annotations

from dataclasses import dataclass

from heron.artifacts.paths import PROXY_SCHEME, proxied_location
from heron.backends.local import LocalBackend
from heron.settings import Settings
from heron.store.engine import PoolLimits
from heron.tracking_uri import default_tracking_uri, resolve


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
        pool = PoolLimits(
            size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            timeout=settings.db_pool_timeout,
        )
        store = LocalBackend(
            location.tracking_uri,
            location.db_uri,
            root,
            pool,
            artifacts_destination=destination,
        )
        return cls(settings=settings, store=store, artifacts_destination=destination)

    def resolve_artifact_uri(self, uri: str) -> str:
        """Where a run's artifacts really are: proxy URIs map into the destination folder."""
        if uri.startswith(PROXY_SCHEME):
            return proxied_location(uri, self.artifacts_destination)
        return uri

    def close(self) -> None:
        self.store.close()
